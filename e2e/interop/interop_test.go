// Package interop runs vaultdb and the VaultDB reference implementation
// (JavaScript, ../shared/reference-js beside the project, run with node) as
// real operating-system processes on one local-directory store at once.
//
// The vaultdb side is this test binary run again as a worker (see
// TestMain): it opens the store through adapters/localdir like the command
// line does. The reference side is testdata/refworker.js with the
// reference's own FileAdapter and its lock protocol. Both print one line per
// acknowledged operation, so a test knows what was acknowledged even of a
// worker it killed.
//
// Sizes: VAULTDB_INTEROP_RUNS (counter runs, default 1),
// VAULTDB_INTEROP_INCS (increments per process per run, default 50),
// VAULTDB_INTEROP_OPS (operations per process of the mixed test, default
// 30). "make interop-test" runs the long form.
package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/internal/specdecode"
	"github.com/vaultdb/vaultdb/vault"
)

const (
	passphrase = "pw"
	roleEnv    = "VAULTDB_INTEROP_ROLE"
)

// bin is the vaultdb binary, built by TestMain.
var bin string

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		if err := worker(role, os.Args[len(os.Args)-1]); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "vaultdb-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "vaultdb")
	build := exec.Command("go", "build", "-o", bin, "../..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building vaultdb:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// reference returns the reference implementation's directory, or skips the
// test when it or node is missing (and fails instead when CI is set).
func reference(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI is set: interop tests must run)", msg)
		}
		t.Skipf("skipped: %s", msg)
	}
	dir, err := filepath.Abs("../../../shared/reference-js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lib", "adapters", "file.js")); err != nil {
		missing("the reference implementation is not at %s: %v", dir, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed: %v", err)
	}
	return dir
}

// newStore creates a store (low iterations: tests only) in a new directory.
func newStore(t *testing.T, shards int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	_, err := vault.Create(context.Background(), localdir.New(dir, localdir.Options{}), []byte(passphrase),
		vault.CreateOptions{Shards: shards, Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// proc is a running worker of either implementation.
type proc struct {
	name  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
	err   error
	errb  strings.Builder
}

func start(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Env = append(os.Environ(), "VAULTDB_PASSPHRASE="+passphrase)
	cmd.Stderr = &p.errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// startRef runs the reference worker: node refworker.js REF STORE args...
func startRef(t *testing.T, ref, store string, args ...string) *proc {
	t.Helper()
	js, err := filepath.Abs("testdata/refworker.js")
	if err != nil {
		t.Fatal(err)
	}
	return start(t, "reference "+strings.Join(args, " "),
		exec.Command("node", append([]string{js, ref, store}, args...)...))
}

// Workers get their role through the environment, set before start.
func goWorker(t *testing.T, store, role string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", store)
	p := &proc{name: "vaultdb " + role, cmd: cmd, done: make(chan struct{})}
	cmd.Env = append(os.Environ(), "VAULTDB_PASSPHRASE="+passphrase, roleEnv+"="+role)
	cmd.Stderr = &p.errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the worker to exit and returns its lines; a worker that
// failed (and was not killed) fails the test.
func (p *proc) wait(t *testing.T, killed bool) []string {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(5 * time.Minute):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s did not finish within 5 minutes", p.name)
	}
	if p.err != nil && !killed {
		t.Errorf("%s: %v: %s", p.name, p.err, p.errb.String())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// ---- the vaultdb worker ----

// worker runs as a separate process: role is "counter PATH N" or
// "mix SEED N".
func worker(role, dir string) error {
	ctx := context.Background()
	a := stack.Build(localdir.New(dir, localdir.Options{}), stack.Options{Retry: &retry.Options{}})
	st, err := vault.Open(ctx, a, []byte(os.Getenv("VAULTDB_PASSPHRASE")), vault.Options{})
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	f := strings.Fields(role)
	switch f[0] {
	case "counter":
		path := f[1]
		n, _ := strconv.Atoi(f[2])
		inc := func(old json.RawMessage) (json.RawMessage, error) {
			var v int
			if old != nil {
				if err := json.Unmarshal(old, &v); err != nil {
					return nil, err
				}
			}
			return json.RawMessage(strconv.Itoa(v + 1)), nil
		}
		for i := 0; i < n; {
			err := st.NewTask(ctx).Update(ctx, path, inc)
			switch {
			case err == nil:
				say("ack")
				i++
			case errors.Is(err, vault.ErrTooManyConflicts):
				// Nothing was written: try the same increment again.
				say("conflict")
			default:
				say("err update %s %v", path, err)
				i++
			}
		}
	case "mix":
		seed, _ := strconv.ParseUint(f[1], 10, 64)
		n, _ := strconv.Atoi(f[2])
		rnd := rand.New(rand.NewPCG(seed, 7))
		for i := 0; i < n; i++ {
			var op, p, v string
			var err error
			task := st.NewTask(ctx)
			switch k := rnd.IntN(10); {
			case k < 5:
				op, p, v = "update", mixPath(rnd), fmt.Sprintf("go-%d-%d", os.Getpid(), i)
				err = task.Set(ctx, p, json.RawMessage(strconv.Quote(v)))
			case k < 6:
				// A batch (import, mv, rm -r): its calls planned together
				// and parked until their writes land, a path possibly twice.
				mixBatch(ctx, task, rnd, i, say)
				continue
			case k < 9:
				op, p = "remove", mixPath(rnd)
				err = task.Remove(ctx, p)
			default:
				op, p = "prune", fmt.Sprintf("/d%d/", rnd.IntN(3))
				if rnd.IntN(2) == 0 {
					p += "s/"
				}
				err = task.Prune(ctx, p)
			}
			if err != nil {
				say("err %s %s %v", op, p, err)
				continue
			}
			say("ok %s %s %s", op, p, v)
		}
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	return nil
}

// mixBatch is one UpdateAll or RemoveAll of two to five documents, each
// call reported as the single operations are.
func mixBatch(ctx context.Context, task *vault.Task, rnd *rand.Rand, i int, say func(string, ...any)) {
	paths := make([]string, 2+rnd.IntN(4))
	for j := range paths {
		paths[j] = mixPath(rnd)
	}
	if rnd.IntN(3) == 0 {
		for j, err := range task.RemoveAll(ctx, paths) {
			if err != nil {
				say("err remove %s %v", paths[j], err)
				continue
			}
			say("ok remove %s", paths[j])
		}
		return
	}
	vals := make([]string, len(paths))
	for j := range vals {
		vals[j] = fmt.Sprintf("go-%d-%d-%d", os.Getpid(), i, j)
	}
	errs := task.UpdateAll(ctx, paths, func(j int) vault.UpdateFunc {
		return func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(strconv.Quote(vals[j])), nil }
	})
	for j, err := range errs {
		if err != nil {
			say("err update %s %v", paths[j], err)
			continue
		}
		say("ok update %s %s", paths[j], vals[j])
	}
}

// mixPath picks a document of the mixed test; refworker.js has the same.
func mixPath(rnd *rand.Rand) string {
	d := rnd.IntN(3)
	switch rnd.IntN(3) {
	case 0:
		return fmt.Sprintf("/d%d/e%d", d, rnd.IntN(4))
	case 1:
		return fmt.Sprintf("/d%d/s/e%d", d, rnd.IntN(2))
	}
	return fmt.Sprintf("/top%d", rnd.IntN(2))
}

// ---- checks ----

// decode reads every blob of the store from disk and decodes it with the
// independent decoder; it fails the test if the store does not decode or
// the safety invariant does not hold.
func decode(t *testing.T, dir string) *specdecode.Store {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string][]byte{}
	for _, e := range entries {
		n := e.Name()
		if n == "config" || strings.HasPrefix(n, "shard-") && !strings.Contains(n, ".") {
			data, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			blobs[n] = data
		}
	}
	st, err := specdecode.Decode(blobs, passphrase)
	if err != nil {
		t.Fatalf("the independent decoder cannot read the store: %v", err)
	}
	if err := st.Invariant(); err != nil {
		t.Errorf("safety invariant violated: %v", err)
	}
	return st
}

// engineCheck runs the engine's full scan: no damaged shard, invariant
// holds.
func engineCheck(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st, err := vault.Open(ctx, localdir.New(dir, localdir.Options{}), []byte(passphrase), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := st.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.InvariantHolds() {
		t.Errorf("vaultdb's check: invariant violated: %v", rep.Findings)
	}
	for _, sh := range rep.Shards {
		if !sh.OK && !sh.Missing {
			t.Errorf("vaultdb's check: shard %s damaged", sh.Blob)
		}
	}
}

func count(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// TestCounter: N vaultdb and N reference processes increment one counter
// document at once; its final value is the number of acknowledged
// increments. Before vaultdb honoured the reference's lock file, each
// implementation's writers could pass the other's lock and increments were
// lost.
func TestCounter(t *testing.T) {
	t.Parallel() // its own stores; the processes it starts share nothing with the others
	ref := reference(t)
	runs := envInt("VAULTDB_INTEROP_RUNS", 1)
	incs := envInt("VAULTDB_INTEROP_INCS", 50)
	procs := envInt("VAULTDB_INTEROP_PROCS", 2)
	const doc = "/c/n"
	totalLost, totalAcks := 0, 0
	for run := 0; run < runs; run++ {
		dir := newStore(t, 2)
		start := time.Now()
		var ps []*proc
		for i := 0; i < procs; i++ {
			ps = append(ps, goWorker(t, dir, fmt.Sprintf("counter %s %d", doc, incs)))
			ps = append(ps, startRef(t, ref, dir, "counter", doc, strconv.Itoa(incs)))
		}
		acks, errs, conflicts := 0, 0, 0
		for _, p := range ps {
			lines := p.wait(t, false)
			acks += count(lines, "ack")
			conflicts += count(lines, "conflict")
			for _, l := range lines {
				if strings.HasPrefix(l, "err") {
					errs++
					t.Errorf("%s: %s", p.name, l)
				}
			}
		}
		st := decode(t, dir)
		var got int
		if raw, ok := st.Docs[doc]; !ok {
			t.Fatalf("run %d: %s is missing", run, doc)
		} else if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("run %d: %s = %s", run, doc, raw)
		}
		engineCheck(t, dir)
		lost := acks - got
		totalLost += lost
		totalAcks += acks
		t.Logf("run %d: %d vaultdb + %d reference processes x %d increments: %d acknowledged, counter %d, lost %d, %d errors, %d vaultdb give-ups retried, %s",
			run, procs, procs, incs, acks, got, lost, errs, conflicts, time.Since(start).Round(time.Millisecond))
		if got != acks {
			t.Errorf("run %d: counter is %d after %d acknowledged increments (%d lost)", run, got, acks, lost)
		}
		if left := lockFiles(t, dir); len(left) > 0 {
			t.Errorf("run %d: lock files left after every writer finished: %v", run, left)
		}
	}
	t.Logf("total: %d runs, %d acknowledged increments, %d lost", runs, totalAcks, totalLost)
}

// lockFiles lists the reference-protocol lock files (<id>.lock) in dir.
func lockFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".lock") {
			out = append(out, e.Name())
		}
	}
	return out
}
