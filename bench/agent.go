package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
	"github.com/vaultdb/vaultdb/adapters/localdir"
	locdropbox "github.com/vaultdb/vaultdb/internal/location/dropbox"
	"github.com/vaultdb/vaultdb/vault"
)

// The agent rows (issue 13): whole processes, the built vaultdb binary
// against pass (gpg key without a passphrase, so gpg-agent does the
// private-key work with nothing to ask: what a warm gpg-agent amounts to),
// A B A B ... in one run so that both see the same machine; and open+get
// over the fake Dropbox at 100 ms per request with a warm agent.

// AgentReport is the agent part of the report.
type AgentReport struct {
	// Skipped says why the rows against pass are missing (pass or gpg not
	// installed).
	Skipped string     `json:"skipped,omitempty"`
	Docs    int        `json:"docs"`
	Runs    int        `json:"runs"`
	Rows    []AgentRow `json:"rows,omitempty"`
	// Slow is open+get over the fake Dropbox.
	Slow *AgentSlow `json:"slow,omitempty"`
}

// AgentRow is one command pair: medians of whole-process wall times.
type AgentRow struct {
	ID         string  `json:"id"`
	Vaultdb    string  `json:"vaultdb"`
	Peer       string  `json:"peer"`
	VaultdbMS  float64 `json:"vaultdb_ms"`
	PeerMS     float64 `json:"peer_ms"`
	Ratio      float64 `json:"median_ratio"` // median of the pairwise ratios
	Iterations int     `json:"pbkdf2_iterations"`
}

// AgentSlow is open+get of one entry over the fake Dropbox at LatencyMS
// per content request, with a warm agent and without one.
type AgentSlow struct {
	LatencyMS      float64 `json:"latency_ms"`
	AgentRequests  int     `json:"agent_requests"`
	AgentRounds    int     `json:"agent_rounds"`
	AgentWallMS    float64 `json:"agent_wall_ms"`
	NoAgentRounds  int     `json:"no_agent_rounds"`
	NoAgentWallMS  float64 `json:"no_agent_wall_ms"`
	NoAgentIters   int     `json:"no_agent_pbkdf2_iterations"`
	Runs           int     `json:"runs"`
	AgentSummary   string  `json:"agent_trace_summary"`
	NoAgentSummary string  `json:"no_agent_trace_summary"`
}

func benchAgent(ctx context.Context, quick bool) (*AgentReport, error) {
	rep := &AgentReport{Docs: 1000, Runs: 21}
	if quick {
		rep.Runs = 7
	}
	tmp, err := os.MkdirTemp("", "vdbb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "vaultdb")
	progress("agent: building vaultdb")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building vaultdb: %v: %s", err, out)
	}
	rt := filepath.Join(tmp, "rt")
	if err := os.Mkdir(rt, 0o700); err != nil {
		return nil, err
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "XDG_RUNTIME_DIR=" + rt, "XDG_CONFIG_HOME=" + filepath.Join(tmp, "config")}
	stop, err := startBenchAgent(bin, env)
	if err != nil {
		return nil, err
	}
	defer stop()

	rep.Slow, err = benchAgentSlow(ctx, bin, env, rep.Runs)
	if err != nil {
		return nil, err
	}

	if _, err := exec.LookPath("pass"); err != nil {
		rep.Skipped = "pass is not installed (apt-get install pass): no rows against pass show / pass insert"
		return rep, nil
	}
	if _, err := exec.LookPath("gpg"); err != nil {
		rep.Skipped = "gpg is not installed (apt-get install gnupg): no rows against pass"
		return rep, nil
	}
	progress("agent: a store of %d entries at %d PBKDF2 iterations, and the same in pass", rep.Docs, vault.DefaultIterations)
	store := filepath.Join(tmp, "store")
	a := localdir.New(store, localdir.Options{})
	if err := populate(ctx, a, rep.Docs, vault.DefaultIterations); err != nil {
		return nil, err
	}
	passEnv, cleanup, err := passStore(ctx, tmp, env, rep.Docs)
	if cleanup != nil {
		defer cleanup()
	}
	if err != nil {
		return nil, err
	}
	// Warm the agent (the one command that derives the key) and gpg-agent.
	if _, err := runCmd(bin, append(env, "VAULTDB_PASSPHRASE="+string(passphrase)), "", "--store", store, "get", docPath(1)); err != nil {
		return nil, err
	}
	if _, err := runCmd("pass", passEnv, "", "show", passName(1)); err != nil {
		return nil, err
	}
	// Without a passphrase: a command the agent does not serve fails.
	noPass := append(env, "VAULTDB_PASSPHRASE=")
	row, err := pairs(rep.Runs, func(i int) (*exec.Cmd, string) {
		return command(bin, noPass, "--store", store, "get", docPath(500)), ""
	}, func(i int) (*exec.Cmd, string) {
		return command("pass", passEnv, "show", passName(500)), ""
	})
	if err != nil {
		return nil, err
	}
	row.ID, row.Vaultdb, row.Peer, row.Iterations = "9-agent-get", "vaultdb get (warm agent)", "pass show", vault.DefaultIterations
	rep.Rows = append(rep.Rows, *row)
	row, err = pairs(rep.Runs, func(i int) (*exec.Cmd, string) {
		return command(bin, noPass, "--store", store, "set", fmt.Sprintf("/new/site%d", i)), "s3cret-value\n"
	}, func(i int) (*exec.Cmd, string) {
		return command("pass", passEnv, "insert", "-m", "-f", fmt.Sprintf("new/site%d", i)), "s3cret-value\n"
	})
	if err != nil {
		return nil, err
	}
	row.ID, row.Vaultdb, row.Peer, row.Iterations = "9-agent-set", "vaultdb set (warm agent)", "pass insert -m -f", vault.DefaultIterations
	rep.Rows = append(rep.Rows, *row)
	return rep, nil
}

// populate creates a store on a and adds docs entries in one task.
func populate(ctx context.Context, a adapters.Adapter, docs, iterations int) error {
	s, err := vault.Create(ctx, a, passphrase, vault.CreateOptions{Shards: 4, Iterations: iterations})
	if err != nil {
		return err
	}
	t := s.NewTask(ctx)
	return concurrently(docs, func(i int) error { return t.Set(ctx, docPath(i), docValue(i)) })
}

func passName(i int) string { return strings.TrimPrefix(docPath(i), "/") }

// passStore makes a gpg home with a key without a passphrase and a pass
// store of docs entries, encrypted by one gpg process (pass insert would
// take a process each).
func passStore(ctx context.Context, tmp string, env []string, docs int) ([]string, func(), error) {
	gnupg := filepath.Join(tmp, "gnupg")
	if err := os.Mkdir(gnupg, 0o700); err != nil {
		return nil, nil, err
	}
	pstore := filepath.Join(tmp, "pass")
	penv := append(append([]string(nil), env...), "GNUPGHOME="+gnupg, "PASSWORD_STORE_DIR="+pstore)
	cleanup := func() { exec.Command("gpgconf", "--homedir", gnupg, "--kill", "gpg-agent").Run() }
	if _, err := runCmd("gpg", penv, "", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-generate-key", "vaultdb bench <bench@example.invalid>", "default", "default", "never"); err != nil {
		return nil, cleanup, err
	}
	out, err := runCmd("gpg", penv, "", "--batch", "--with-colons", "--list-secret-keys")
	if err != nil {
		return nil, cleanup, err
	}
	m := regexp.MustCompile(`(?m)^fpr:+([0-9A-F]{40}):`).FindStringSubmatch(out)
	if m == nil {
		return nil, cleanup, fmt.Errorf("no key fingerprint in gpg's listing")
	}
	if _, err := runCmd("pass", penv, "", "init", m[1]); err != nil {
		return nil, cleanup, err
	}
	files := make([]string, docs)
	for i := range docs {
		f := filepath.Join(pstore, passName(i))
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return nil, cleanup, err
		}
		if err := os.WriteFile(f, append(docValue(i), '\n'), 0o600); err != nil {
			return nil, cleanup, err
		}
		files[i] = f
	}
	args := append([]string{"--batch", "--yes", "--quiet", "--compress-algo=none", "--no-encrypt-to", "-r", m[1], "--encrypt-files"}, files...)
	if _, err := runCmd("gpg", penv, "", args...); err != nil {
		return nil, cleanup, err
	}
	for _, f := range files {
		os.Remove(f)
	}
	return penv, cleanup, nil
}

func command(name string, env []string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = env
	return c
}

func runCmd(name string, env []string, stdin string, args ...string) (string, error) {
	c := command(name, env, args...)
	c.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args[:min(len(args), 3)], " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// timed runs c with stdin and returns its wall time; a failure is an error
// (a vaultdb command the agent did not serve fails for want of the
// passphrase).
func timed(c *exec.Cmd, stdin string) (time.Duration, error) {
	c.Stdin = strings.NewReader(stdin)
	var errOut bytes.Buffer
	c.Stdout, c.Stderr = io.Discard, &errOut
	start := time.Now()
	err := c.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %v: %s", strings.Join(c.Args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return d, nil
}

// pairs runs a and b in turn n times (after one warm-up each) and returns
// the medians and the median of the pairwise ratios a/b.
func pairs(n int, a, b func(i int) (*exec.Cmd, string)) (*AgentRow, error) {
	var as, bs []time.Duration
	var ratios []float64
	for i := -1; i < n; i++ {
		ca, ina := a(i + 1)
		da, err := timed(ca, ina)
		if err != nil {
			return nil, err
		}
		cb, inb := b(i + 1)
		db, err := timed(cb, inb)
		if err != nil {
			return nil, err
		}
		if i < 0 {
			continue
		}
		as, bs = append(as, da), append(bs, db)
		ratios = append(ratios, float64(da)/float64(db))
	}
	return &AgentRow{VaultdbMS: ms(median(as)), PeerMS: ms(median(bs)), Ratio: medianFloat(ratios)}, nil
}

func medianFloat(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// startBenchAgent starts "vaultdb agent" and waits until it listens.
func startBenchAgent(bin string, env []string) (func(), error) {
	c := command(bin, env, "agent")
	var errOut syncWriter
	c.Stderr = &errOut
	if err := c.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	stop := func() {
		c.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.Process.Kill()
			<-done
		}
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(errOut.String(), "listening on"); time.Sleep(10 * time.Millisecond) {
		select {
		case <-done:
			return nil, fmt.Errorf("vaultdb agent exited: %s", errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("vaultdb agent did not listen within 20s")
		}
	}
	return stop, nil
}

var traceSummary = regexp.MustCompile(`trace: summary: (\d+) requests .* in (\d+) rounds`)

// benchAgentSlow: open+get over the fake Dropbox at 100 ms per content
// request, by the vaultdb process, with the warm agent and without.
func benchAgentSlow(ctx context.Context, bin string, env []string, runs int) (*AgentSlow, error) {
	const lat = 100 * time.Millisecond
	progress("agent: open+get over the fake Dropbox at %v per request", lat)
	tb := &benchTB{}
	defer tb.close()
	srv := dropboxtest.NewServer(tb)
	at, rt := srv.IssueTokens()
	base, err := dropbox.New(dropbox.Options{Root: "/bench", APIBase: srv.URL, ContentBase: srv.URL, TokenURL: srv.TokenURL(),
		AppKey: dropboxtest.AppKey, Token: &dropbox.Token{AccessToken: at, RefreshToken: rt}})
	if err != nil {
		return nil, err
	}
	// The iterations of the run without an agent: the bench's low count,
	// so that its figure is the requests, not the KDF.
	if err := populate(ctx, base, 100, benchIterations); err != nil {
		return nil, err
	}
	var config string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "XDG_CONFIG_HOME="); ok {
			config = v
		}
	}
	if err := locdropbox.SaveToken(filepath.Join(config, "vaultdb", locdropbox.TokenFileName), &locdropbox.TokenFile{
		AppKey: dropboxtest.AppKey, Token: &dropbox.Token{AccessToken: at, RefreshToken: rt}}); err != nil {
		return nil, err
	}
	denv := append(append([]string(nil), env...), locdropbox.EnvAppKey+"="+dropboxtest.AppKey, locdropbox.EnvAPIURL+"="+srv.URL,
		locdropbox.EnvContentURL+"="+srv.URL, locdropbox.EnvTokenURL+"="+srv.TokenURL())
	srv.SetNamespace(dropboxtest.Namespace{Latency: lat})
	getArgs := []string{"--store", "dropbox:/bench", "--trace", "get", docPath(7)}
	// Warm the agent.
	if _, err := runCmd(bin, append(denv, "VAULTDB_PASSPHRASE="+string(passphrase)), "", getArgs...); err != nil {
		return nil, err
	}
	res := &AgentSlow{LatencyMS: ms(lat), Runs: runs, NoAgentIters: benchIterations}
	var with, without []time.Duration
	for i := 0; i < runs; i++ {
		for _, agent := range []bool{true, false} {
			e := append(denv, "VAULTDB_PASSPHRASE=")
			if !agent {
				e = append(denv, "VAULTDB_NO_AGENT=1", "VAULTDB_PASSPHRASE="+string(passphrase))
			}
			c := command(bin, e, getArgs...)
			var errOut bytes.Buffer
			c.Stdout, c.Stderr = io.Discard, &errOut
			start := time.Now()
			if err := c.Run(); err != nil {
				return nil, fmt.Errorf("vaultdb get over the fake Dropbox (agent %v): %v: %s", agent, err, errOut.String())
			}
			d := time.Since(start)
			m := traceSummary.FindStringSubmatch(errOut.String())
			if m == nil {
				return nil, fmt.Errorf("no trace summary: %s", errOut.String())
			}
			reqs, _ := strconv.Atoi(m[1])
			rounds, _ := strconv.Atoi(m[2])
			summary := strings.TrimSpace(m[0])
			if agent {
				with = append(with, d)
				res.AgentRequests, res.AgentRounds, res.AgentSummary = reqs, rounds, summary
			} else {
				without = append(without, d)
				res.NoAgentRounds, res.NoAgentSummary = rounds, summary
			}
		}
	}
	res.AgentWallMS, res.NoAgentWallMS = ms(median(with)), ms(median(without))
	return res, nil
}

// syncWriter is a buffer the agent's stderr goes to while it is read.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func agentTargets(r *AgentReport) []Target {
	if r == nil {
		return nil
	}
	var ts []Target
	if r.Slow != nil {
		ts = append(ts, Target{"9 open+get, warm agent, fake Dropbox: rounds", "= 1",
			fmt.Sprintf("%d (%d requests)", r.Slow.AgentRounds, r.Slow.AgentRequests), r.Slow.AgentRounds == 1})
	}
	if r.Skipped != "" {
		ts = append(ts, Target{"9 vaultdb get and set (warm agent) / pass", "<= 1.0x", "NOT MEASURED: " + r.Skipped, false})
	}
	for _, row := range r.Rows {
		ts = append(ts, Target{fmt.Sprintf("9 %s / %s (%d entries)", row.Vaultdb, row.Peer, r.Docs), "<= 1.0x",
			fmt.Sprintf("%.2fx", row.Ratio), row.Ratio <= 1.0})
	}
	return ts
}

func printAgent(w io.Writer, r *AgentReport) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\nagent (issue 13): whole processes, median of %d runs each, in turns\n", r.Runs)
	if r.Slow != nil {
		fmt.Fprintf(w, "  open+get over the fake Dropbox at %.0f ms: warm agent %s (%s), no agent %s at %d iterations (%s)\n",
			r.Slow.LatencyMS, fmtMS(r.Slow.AgentWallMS), r.Slow.AgentSummary, fmtMS(r.Slow.NoAgentWallMS), r.Slow.NoAgentIters, r.Slow.NoAgentSummary)
	}
	if r.Skipped != "" {
		fmt.Fprintf(w, "  SKIPPED: %s\n", r.Skipped)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  row\tvaultdb\tpeer\tvaultdb wall\tpeer wall\tratio (median of pairs)\t")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%.2fx\t\n", row.ID, row.Vaultdb, row.Peer, fmtMS(row.VaultdbMS), fmtMS(row.PeerMS), row.Ratio)
	}
	tw.Flush()
	fmt.Fprintf(w, "  %d entries; vaultdb store at %d PBKDF2 iterations (the agent makes them irrelevant), pass with a gpg key without a passphrase (gpg-agent warm)\n", r.Docs, vault.DefaultIterations)
}
