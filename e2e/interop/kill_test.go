package interop

import (
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
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/vault"
)

// killMidWrite stops p again and again at random instants until it finds
// a lock file <id>.lock in dir while p is stopped, that is while p is
// between creating its lock and renaming it, and kills it there with
// SIGKILL. It gives up (and kills p anyway) after limit; it returns the
// lock file left behind ("" if none was caught) and p's lines.
func killMidWrite(t *testing.T, p *proc, dir string, limit time.Duration) (string, []string) {
	t.Helper()
	pid := p.cmd.Process.Pid
	deadline := time.Now().Add(limit)
	left := ""
	for time.Now().Before(deadline) && left == "" {
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatalf("SIGSTOP: %v", err)
		}
		// Wait until it is really stopped.
		for i := 0; i < 1000; i++ {
			if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") T ") {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		if l := lockFiles(t, dir); len(l) > 0 {
			left = filepath.Join(dir, l[0])
			break
		}
		syscall.Kill(pid, syscall.SIGCONT)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	syscall.Kill(pid, syscall.SIGCONT)
	return left, p.wait(t, true)
}

// vaultdbCLI runs the vaultdb binary on the store.
func vaultdbCLI(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	c := exec.Command(bin, append([]string{"--store", dir}, args...)...)
	c.Env = append(os.Environ(), "VAULTDB_PASSPHRASE="+passphrase)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := c.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// increment adds one to the counter in-process, through a Dir with opts.
func increment(ctx context.Context, dir, doc string, opts localdir.Options) error {
	st, err := vault.Open(ctx, localdir.New(dir, opts), []byte(passphrase), vault.Options{})
	if err != nil {
		return err
	}
	return st.NewTask(ctx).Update(ctx, doc, func(old json.RawMessage) (json.RawMessage, error) {
		v, _ := strconv.Atoi(string(old))
		return json.RawMessage(strconv.Itoa(v + 1)), nil
	})
}

// rewrite writes blob's content back unchanged through a Dir with opts:
// a real write of that very blob, whatever the engine would skip.
func rewrite(ctx context.Context, dir, blob string, opts localdir.Options) error {
	d := localdir.New(dir, opts)
	data, rev, err := d.Read(ctx, blob)
	if err != nil {
		return err
	}
	_, err = d.Write(ctx, blob, data, rev)
	return err
}

func counterValue(t *testing.T, dir, doc string) int {
	t.Helper()
	st := decode(t, dir)
	v, _ := strconv.Atoi(string(st.Docs[doc]))
	return v
}

// TestKilledWriters: a writer of either implementation killed with SIGKILL
// between creating its lock file and renaming it never leaves the store
// unusable for vaultdb. A vaultdb writer's lock file is removed at once by
// the next vaultdb write; a reference writer's makes vaultdb writes wait
// and fail with a clear, transient error naming it until it is StaleAfter
// old, and "vaultdb fsck" reports it and "fsck --repair" removes it then.
// Either way the killed increment is not in the store, and both
// implementations write again afterwards.
func TestKilledWriters(t *testing.T) {
	t.Parallel() // its own stores; the processes it starts share nothing with the others
	ref := reference(t)
	ctx := context.Background()
	const doc = "/c/n"
	dir := newStore(t, 2)
	acks := 0
	ambiguous := 0 // increments killed without a lock file caught: may have landed

	// sync checks the counter against the acknowledged increments.
	sync := func(what string) {
		t.Helper()
		got := counterValue(t, dir, doc)
		if got < acks || got > acks+ambiguous {
			t.Fatalf("%s: counter %d, acknowledged %d (+%d unknown)", what, got, acks, ambiguous)
		}
		// Settle the unknown ones.
		acks, ambiguous = got, 0
	}

	for round := 0; round < 2; round++ {
		// --- a vaultdb writer killed mid-write ---
		p := goWorker(t, dir, fmt.Sprintf("counter %s 100000", doc))
		waitAcks(t, p, 2)
		left, lines := killMidWrite(t, p, dir, 5*time.Second)
		acks += count(lines, "ack")
		if left == "" {
			ambiguous++
			t.Logf("round %d: vaultdb worker killed, no lock file caught", round)
		} else {
			var st unix.Stat_t
			unix.Lstat(left, &st)
			if st.Mode&unix.S_ISVTX == 0 {
				t.Fatalf("the lock file %s of a vaultdb writer has no sticky bit (mode %o)", left, st.Mode)
			}
			t.Logf("round %d: vaultdb worker killed mid-write, %s left", round, filepath.Base(left))
			if round == 0 {
				// The next vaultdb write of that blob goes through at once
				// (the lock timeout is an hour).
				start := time.Now()
				if err := rewrite(ctx, dir, strings.TrimSuffix(filepath.Base(left), ".lock"), localdir.Options{LockTimeout: time.Hour}); err != nil {
					t.Fatal(err)
				}
				if el := time.Since(start); el > 3*time.Second {
					t.Errorf("the write after the kill took %s", el)
				}
			} else {
				code, out := vaultdbCLI(t, dir, "fsck")
				if code != 8 || !strings.Contains(out, filepath.Base(left)) || !strings.Contains(out, "left by a vaultdb writer that stopped") {
					t.Errorf("fsck with a dead vaultdb writer's lock file: exit %d:\n%s", code, out)
				}
				code, out = vaultdbCLI(t, dir, "fsck", "--repair")
				if code != 0 || !strings.Contains(out, "removed "+filepath.Base(left)) {
					t.Errorf("fsck --repair: exit %d:\n%s", code, out)
				}
			}
			if l := lockFiles(t, dir); len(l) > 0 {
				t.Errorf("lock files left: %v", l)
			}
			sync("after a vaultdb writer was killed mid-write")
		}
		// The reference writes again.
		refInc(t, ref, dir, doc, 3)
		acks += 3
		sync("reference after vaultdb's kill")

		// --- a reference writer killed mid-write ---
		p = startRef(t, ref, dir, "counter", doc, "100000")
		waitAcks(t, p, 2)
		left, lines = killMidWrite(t, p, dir, 5*time.Second)
		acks += count(lines, "ack")
		if left == "" {
			ambiguous++
			t.Logf("round %d: reference worker killed, no lock file caught", round)
			sync("after a reference writer was killed")
			continue
		}
		t.Logf("round %d: reference worker killed mid-write, %s left", round, filepath.Base(left))
		sync("after a reference writer was killed mid-write")
		before := snapshot(t, dir)
		// A vaultdb write waits within its lock timeout, then fails with
		// a transient error naming the lock file.
		start := time.Now()
		blob := strings.TrimSuffix(filepath.Base(left), ".lock")
		err := rewrite(ctx, dir, blob, localdir.Options{LockTimeout: 300 * time.Millisecond})
		var le *localdir.LockedError
		if !errors.Is(err, adapters.ErrTransient) || !errors.As(err, &le) || le.Path != left {
			t.Fatalf("write under a dead reference writer's lock: %v", err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("it took %s to fail", el)
		}
		code, out := vaultdbCLI(t, dir, "fsck")
		if code != 0 || !strings.Contains(out, filepath.Base(left)) {
			t.Errorf("fsck with a young lock file of another program: exit %d:\n%s", code, out)
		}
		if after := snapshot(t, dir); !equalMaps(before, after) {
			t.Errorf("the store changed")
		}
		// Once it is StaleAfter old (made so with its time stamps), it is
		// abandoned: reported and removed by fsck --repair, or by the
		// next write.
		old := time.Now().Add(-localdir.DefaultStaleAfter - time.Second)
		os.Chtimes(left, old, old)
		if round == 0 {
			code, out = vaultdbCLI(t, dir, "fsck")
			if code != 8 || !strings.Contains(out, filepath.Base(left)) {
				t.Errorf("fsck with an abandoned lock file: exit %d:\n%s", code, out)
			}
			code, out = vaultdbCLI(t, dir, "fsck", "--repair")
			if code != 0 || !strings.Contains(out, "removed "+filepath.Base(left)) {
				t.Errorf("fsck --repair: exit %d:\n%s", code, out)
			}
		} else {
			if err := rewrite(ctx, dir, blob, localdir.Options{}); err != nil {
				t.Fatalf("write over an abandoned lock file: %v", err)
			}
		}
		if err := increment(ctx, dir, doc, localdir.Options{}); err != nil {
			t.Fatal(err)
		}
		acks++
		if l := lockFiles(t, dir); len(l) > 0 {
			t.Errorf("lock files left: %v", l)
		}
		refInc(t, ref, dir, doc, 3)
		acks += 3
		sync("after a reference writer's lock was cleared")
	}
	engineCheck(t, dir)
}

// waitAcks waits until p acknowledged n operations.
func waitAcks(t *testing.T, p *proc, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		k := count(p.lines, "ack")
		p.mu.Unlock()
		if k >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s acknowledged fewer than %d operations in 30 s: %s", p.name, n, p.errb.String())
}

// refInc runs the reference to increment the counter n times.
func refInc(t *testing.T, ref, dir, doc string, n int) {
	t.Helper()
	p := startRef(t, ref, dir, "counter", doc, strconv.Itoa(n))
	if got := count(p.wait(t, false), "ack"); got != n {
		t.Fatalf("reference: %d of %d increments acknowledged", got, n)
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".lock-") {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = string(data)
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
