package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault"
)

// Crash tests: real vaultdb processes killed with SIGKILL at random
// instants. VAULTDB_CRASH_KILLS sets how many kills the sequential test
// makes (default 60); VAULTDB_CRASH_OPS how many commands each process of
// the concurrent test runs (default 12). "make crash-test" runs the long
// form. Each test logs its seed; VAULTDB_CRASH_SEED=N runs it again with
// the same commands, values and kill delays (the instant a kill lands in
// a process still depends on the machine).

const absent = "\x00absent" // a document that does not exist, in models

// crashSeed is $VAULTDB_CRASH_SEED, else a new seed; either way it is
// logged, and printed again if the test fails, so a failure can be replayed.
func crashSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("VAULTDB_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("VAULTDB_CRASH_SEED=%q is not a number", v)
		}
		seed = n
	}
	t.Logf("seed %d (replay with VAULTDB_CRASH_SEED=%d)", seed, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("to replay: VAULTDB_CRASH_SEED=%d go test -run '^%s$' ./e2e", seed, t.Name())
		}
	})
	return seed
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// crashOp is one command and what it does to the documents it touches.
type crashOp struct {
	args  []string
	stdin string
	// effect maps each document the command changes to its value after
	// the command succeeded (absent for removed).
	effect map[string]string
	// notFound: the command is expected to fail with exit 3 and change
	// nothing.
	notFound bool
	// from maps the destination of a mv to its source.
	from map[string]string
}

// randomOp picks a command over paths under prefix, given the documents
// that exist now (cur, certain or a best guess).
func randomOp(rnd *rand.Rand, prefix string, cur map[string]string, serial int) crashOp {
	doc := func() string {
		switch rnd.IntN(3) {
		case 0:
			return fmt.Sprintf("%sd%d/e%d", prefix, rnd.IntN(3), rnd.IntN(4))
		case 1:
			return fmt.Sprintf("%sd%d/s/e%d", prefix, rnd.IntN(3), rnd.IntN(2))
		}
		return fmt.Sprintf("%stop%d", prefix, rnd.IntN(2))
	}
	present := func(p string) bool { v, ok := cur[p]; return ok && v != absent }
	switch k := rnd.IntN(10); {
	case k < 5: // set
		p := doc()
		v := fmt.Sprintf("value-%d-%x", serial, rnd.Uint32())
		return crashOp{args: []string{"set", p}, stdin: v, effect: map[string]string{p: v}}
	case k < 7: // rm
		p := doc()
		return crashOp{args: []string{"rm", "-f", p}, effect: map[string]string{p: absent}, notFound: !present(p)}
	case k < 8: // rm -r
		dir := fmt.Sprintf("%sd%d/", prefix, rnd.IntN(3))
		if rnd.IntN(2) == 0 {
			dir += "s/"
		}
		// Every document ever seen below dir: cur may be a guess.
		eff := map[string]string{}
		any := false
		for p := range cur {
			if strings.HasPrefix(p, dir) {
				eff[p] = absent
				any = any || present(p)
			}
		}
		return crashOp{args: []string{"rm", "-r", "-f", dir}, effect: eff, notFound: !any}
	default: // mv -f
		src, dst := doc(), doc()
		if src == dst {
			return crashOp{args: []string{"get", src}, effect: map[string]string{}, notFound: !present(src)}
		}
		// When src is believed absent the command should fail with exit 3,
		// but cur may be a guess: the effect is there in case it succeeds.
		return crashOp{args: []string{"mv", "-f", src, dst}, effect: map[string]string{src: absent, dst: cur[src]},
			from: map[string]string{dst: src}, notFound: !present(src)}
	}
}

// startKill runs vaultdb args and kills it with SIGKILL after delay if it
// is still running. killed reports whether the kill ended it.
func (s *store) startKill(stdin string, delay time.Duration, args ...string) (code int, killed bool, errOut string) {
	s.t.Helper()
	c := exec.Command(bin, append([]string{"--store", s.dir}, args...)...)
	c.Env = s.env
	c.Stdin = strings.NewReader(stdin)
	var eb strings.Builder
	c.Stderr = &eb
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		s.t.Fatalf("starting vaultdb: %v", err)
	}
	var timer *time.Timer
	if delay >= 0 {
		timer = time.AfterFunc(delay, func() { c.Process.Signal(syscall.SIGKILL) })
	}
	err := c.Wait()
	if timer != nil {
		timer.Stop()
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return -1, true, eb.String()
		}
		return ee.ExitCode(), false, eb.String()
	}
	if err != nil {
		s.t.Fatalf("running vaultdb: %v", err)
	}
	return 0, false, eb.String()
}

// engineState opens the store in-process and checks it with the fsck scan:
// no shard damaged, the safety invariant holds. It returns every document
// the engine finds, with its value, and the number of tolerated findings
// (dangling names, unlinked directories left by interrupted links).
func engineState(t *testing.T, dir string) (map[string]string, int) {
	t.Helper()
	return adapterState(t, localdir.New(dir, localdir.Options{}))
}

// adapterState is engineState for a store on any adapter.
func adapterState(t *testing.T, a adapters.Adapter) (map[string]string, int) {
	t.Helper()
	ctx := context.Background()
	st, err := vault.Open(ctx, a, []byte("pw"), vault.Options{})
	if err != nil {
		t.Fatalf("open after kill: %v", err)
	}
	rep, err := st.Check(ctx)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	tolerated := 0
	for _, f := range rep.Findings {
		if f.Kind == vault.FindDanglingName || f.Kind == vault.FindUnlinkedDir {
			tolerated++
			continue
		}
		t.Errorf("check after kill: %v", f)
	}
	task := st.NewTask(ctx)
	docs, err := task.Find(ctx, "/")
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	out := map[string]string{}
	for _, p := range docs {
		raw, err := task.Get(ctx, p)
		if errors.Is(err, vault.ErrNotFound) {
			continue // a dangling name: listed, gone
		}
		if err != nil {
			t.Fatalf("get %s: %v", p, err)
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("get %s: %s", p, raw)
		}
		out[p] = v
	}
	if len(out) != rep.Docs {
		t.Errorf("find reaches %d documents, the shards hold %d", len(out), rep.Docs)
	}
	return out, tolerated
}

func TestCrashKill(t *testing.T) {
	t.Parallel()
	wantKills := envInt("VAULTDB_CRASH_KILLS", 60)
	s := newStore(t)
	s.must("", "init", "--iterations", "1000", "--shards", "3")
	seed := crashSeed(t)
	rnd := rand.New(rand.NewPCG(seed, 1))

	// Calibrate: how long a set takes, to kill within that window.
	start := time.Now()
	s.must("x", "set", "calib")
	s.must("", "rm", "-f", "calib")
	window := time.Since(start) / 2
	t.Logf("one command takes about %v", window)

	cur := map[string]string{}
	var kills, ops, acked, dangling, iters int
	var slowest time.Duration
	for kills < wantKills && iters < wantKills*6 {
		iters++
		op := randomOp(rnd, "/", cur, iters)
		delay := time.Duration(rnd.Int64N(int64(window)*3/2 + 1))
		code, killed, errOut := s.startKill(op.stdin, delay, op.args...)
		ops++
		// The calibration is one measurement, and commands run slower or
		// faster as the machine's load changes: a kill that came too late
		// shortens the window and one that landed lengthens it (so about 3
		// in 5 land), and kills keep landing mid-run however loaded the
		// machine is.
		if killed {
			window = window * 6 / 5
		} else {
			window = max(window*3/4, time.Millisecond)
		}
		checkTree(t, strings.Join(op.args, " "), s.dir, true) // modes 0600/0700
		got, tol := engineState(t, s.dir)
		dangling += tol
		for p, v := range op.effect {
			old, ok := cur[p]
			if !ok {
				old = absent
			}
			now, ok := got[p]
			if !ok {
				now = absent
			}
			switch {
			case killed:
				if now != old && now != v {
					t.Errorf("after killed %q: %s = %q, want %q or %q", op.args, p, now, old, v)
				}
			case code == 0 && !op.notFound:
				acked++
				if now != v {
					t.Errorf("after %q (exit 0): %s = %q, want %q", op.args, p, now, v)
				}
			default:
				if now != old {
					t.Errorf("after %q (exit %d): %s = %q, want unchanged %q", op.args, code, p, now, old)
				}
			}
		}
		if !killed && code != 0 && !(op.notFound && code == 3) {
			t.Errorf("%q: exit %d: %s", op.args, code, errOut)
		}
		// Documents the command did not touch stay as they were.
		for p, v := range got {
			if _, touched := op.effect[p]; !touched && cur[p] != v {
				t.Errorf("after %q: untouched %s = %q, was %q", op.args, p, v, cur[p])
			}
		}
		for p := range cur {
			if _, touched := op.effect[p]; !touched && got[p] == "" {
				t.Errorf("after %q: untouched %s vanished", op.args, p)
			}
		}
		cur = got
		if killed {
			kills++
			// The next command must not wait on a lock of the dead process
			// (the documented lock timeout is 10 s).
			t0 := time.Now()
			out := s.must("", "ls", "-r")
			if d := time.Since(t0); d > slowest {
				slowest = d
			}
			var want []string
			for p := range got {
				want = append(want, p)
			}
			sort.Strings(want)
			// ls -r may also show dangling names (listed, gone).
			lines := strings.Fields(out)
			for _, p := range want {
				if !slices.Contains(lines, p) {
					t.Errorf("ls -r after kill = %q, lacks %q", lines, p)
				}
			}
		}
		if t.Failed() {
			t.Fatalf("stopping after %d commands", ops)
		}
	}
	if slowest > 5*time.Second {
		t.Errorf("a command after a kill took %v", slowest)
	}
	t.Logf("crash: %d commands, %d killed mid-run, %d acknowledged writes checked, %d drift findings seen (dangling names, unlinked directories; tolerated), slowest command after a kill %v",
		ops, kills, acked, dangling, slowest)
	if kills < wantKills/2 {
		t.Errorf("only %d kills landed", kills)
	}
}

// TestCrashConcurrent runs several vaultdb processes at once on one store,
// each doing a random mix of commands on its own documents (under a shared
// directory, so that directory writes collide), some killed mid-run.
// At the end: the store is undamaged, the invariant holds, every write a
// process acknowledged is there (or one of the outcomes of a later killed
// command), and fsck --repair leaves it clean.
func TestCrashConcurrent(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000", "--shards", "4")
	runConcurrent(t, s, func() adapters.Adapter { return localdir.New(s.dir, localdir.Options{}) })
}

// TestCrashConcurrentDropbox is the same on the Dropbox fake.
func TestCrashConcurrentDropbox(t *testing.T) {
	t.Parallel()
	d := newDropboxStore(t)
	d.mustLogin()
	d.must("", "init", "--iterations", "1000", "--shards", "4")
	runConcurrent(t, d.store, func() adapters.Adapter {
		// A snapshot of the fake's files, read in-process.
		m := memory.New()
		for k, v := range d.fake.Files() {
			id, ok := strings.CutPrefix(k, "/vaultdb/")
			if !ok || strings.Contains(id, "/") {
				continue
			}
			if _, err := m.Write(context.Background(), id, v, adapters.NoRev); err != nil {
				t.Fatal(err)
			}
		}
		return m
	})
}

// runConcurrent runs the concurrent crash test on s; open gives an adapter
// on the store's current content for the in-process checks.
func runConcurrent(t *testing.T, s *store, open func() adapters.Adapter) {
	workers := 6
	opsPer := envInt("VAULTDB_CRASH_OPS", 12)
	seed := crashSeed(t)

	start := time.Now()
	s.must("x", "set", "calib")
	window := time.Since(start)

	type result struct {
		possible       map[string]map[string]bool
		ops, kills, ok int
		errs           []string
		history        []string // every command and how it ended
		durations      []time.Duration
	}
	results := make([]result, workers)
	// Meanwhile fsck --repair runs again and again: its repairs must never
	// lose a document or an acknowledged write of the others.
	stop := make(chan struct{})
	fsckDone := make(chan [3]int)
	go func() {
		var n [3]int // runs, exit 0, exit 8
		for {
			select {
			case <-stop:
				fsckDone <- n
				return
			case <-time.After(150 * time.Millisecond):
			}
			code, _, _ := s.startKill("", -1, "fsck", "--repair")
			n[0]++
			switch code {
			case 0:
				n[1]++
			case 8:
				n[2]++
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, uint64(w)+2))
			prefix := fmt.Sprintf("/shared/w%d/", w)
			possible := map[string]map[string]bool{}
			guess := map[string]string{} // the most likely current state
			r := &results[w]
			for i := range opsPer {
				op := randomOp(rnd, prefix, guess, w*1000+i)
				delay := time.Duration(-1)
				if rnd.IntN(4) == 0 {
					delay = time.Duration(rnd.Int64N(int64(window)*2 + 1))
				}
				t0 := time.Now()
				code, killed, errOut := s.startKill(op.stdin, delay, op.args...)
				if !killed {
					r.durations = append(r.durations, time.Since(t0))
				}
				r.ops++
				r.history = append(r.history, fmt.Sprintf("%q exit %d killed %v", op.args, code, killed))
				if killed {
					r.kills++
				}
				// The values each changed document may have now.
				next := map[string]map[string]bool{}
				for p, v := range op.effect {
					vals := map[string]bool{v: true}
					if src, ok := op.from[p]; ok && possible[src] != nil {
						vals = map[string]bool{}
						for x := range possible[src] {
							if x != absent {
								vals[x] = true
							}
						}
					}
					next[p] = vals
				}
				for p, v := range op.effect {
					if possible[p] == nil {
						possible[p] = map[string]bool{absent: true}
					}
					switch {
					case code == 0 && !killed:
						r.ok++
						possible[p] = next[p]
					case code == 3 && op.notFound:
						continue
					default:
						// Killed, or failed (conflicts): either outcome.
						for x := range next[p] {
							possible[p][x] = true
						}
					}
					guess[p] = v
				}
				if !killed && code != 0 && code != 3 {
					r.errs = append(r.errs, fmt.Sprintf("%q: exit %d: %s", op.args, code, errOut))
				}
			}
			r.possible = possible
		}()
	}
	wg.Wait()
	close(stop)
	fsckRuns := <-fsckDone

	got, tol := adapterState(t, open())
	ops, kills, acked, failed := 0, 0, 0, 0
	var durations []time.Duration
	for _, r := range results {
		ops, kills, acked = ops+r.ops, kills+r.kills, acked+r.ok
		durations = append(durations, r.durations...)
		for _, e := range r.errs {
			failed++
			t.Logf("failed command (allowed under contention): %s", e)
		}
		for p, vals := range r.possible {
			now, ok := got[p]
			if !ok {
				now = absent
			}
			if !vals[now] {
				t.Errorf("%s = %q, want one of %q; history of its process:\n%s", p, now, valueSet(vals), strings.Join(r.history, "\n"))
			}
		}
	}
	slices.Sort(durations)
	pct := func(q float64) time.Duration {
		if len(durations) == 0 {
			return 0
		}
		return durations[int(q*float64(len(durations)-1))]
	}
	// The give-up rate and tail latency under contention (issue 20 asks
	// for no give-ups at this load); a figure, not an assertion.
	t.Logf("contention: %d of %d finished commands failed; wall p50 %v p90 %v p99 %v max %v",
		failed, len(durations), pct(0.5), pct(0.9), pct(0.99), pct(1))
	t.Logf("concurrent: %d processes, %d commands, %d killed, %d acknowledged writes checked, %d dangling names; "+
		"fsck --repair ran %d times alongside (%d clean, %d with problems left)",
		workers, ops, kills, acked, tol, fsckRuns[0], fsckRuns[1], fsckRuns[2])

	// fsck repairs the drift, and changes no document.
	r := s.run("", nil, "fsck", "--repair")
	if r.code != 0 {
		t.Errorf("fsck --repair: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	after, tol := adapterState(t, open())
	if tol != 0 {
		t.Errorf("%d dangling names after fsck --repair", tol)
	}
	if !mapsEq(got, after) {
		t.Errorf("fsck --repair changed documents: %v -> %v", got, after)
	}
}

func valueSet(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mapsEq(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
