package e2e

// Hostile stores and careless input (issue 12): each case runs the binary
// under a time limit, checks the exit code and the one-line error, that
// the store files are unchanged, and that the process stayed within a
// memory bound (its peak resident size).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/vault/format"
)

// Bounds every hostile case must stay within. A command on these small
// stores takes milliseconds and a few tens of MB; the old failures were
// hours of CPU and gigabytes.
const (
	hostileTimeLimit = 15 * time.Second
	hostileMemLimit  = 200 << 20 // bytes of peak RSS
)

type boundedResult struct {
	result
	elapsed time.Duration
	maxRSS  int64 // bytes
	killed  bool  // ran past the time limit
	// cpuAfterSignal is the CPU time (user+sys, all threads) the process
	// used from the signal to its exit.
	cpuAfterSignal time.Duration
}

// runLimited runs vaultdb like store.run, but kills it (and its process
// group) after limit and reports its wall time and peak RSS. signal, if
// not nil, is sent once the process has used sigAfterCPU of CPU time:
// CPU time, not wall time, so that on a loaded machine the signal still
// finds it where the test means (past its start, deriving the key) and
// what it does after the signal is measured in work, not in how long it
// waited for a core.
func (s *store) runLimited(limit time.Duration, stdin string, env []string, sig os.Signal, sigAfterCPU time.Duration, args ...string) boundedResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c := exec.CommandContext(ctx, bin, append([]string{"--store", s.dir}, args...)...)
	c.Env = append(append([]string(nil), s.env...), env...)
	c.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	if err := c.Start(); err != nil {
		s.t.Fatal(err)
	}
	stopRSS := watchRSS(c.Process.Pid)
	var sent time.Time
	var cpuAtSignal time.Duration
	if sig != nil {
		for {
			used, running := processCPU(c.Process.Pid)
			if !running || ctx.Err() != nil { // exited or killed: Wait reports it
				break
			}
			if used >= sigAfterCPU {
				cpuAtSignal = used
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		sent = time.Now()
		c.Process.Signal(sig)
		// Read again after the signal: what the process used between the
		// first reading and the signal (this test may have waited for a
		// core meanwhile) is not counted as used after it. A process
		// that has exited still shows its times until it is reaped.
		if used, ok := processCPU(c.Process.Pid); ok || used > 0 {
			cpuAtSignal = used
		}
	}
	err := c.Wait()
	r := boundedResult{elapsed: time.Since(start), killed: ctx.Err() != nil, maxRSS: stopRSS()}
	if sig != nil {
		r.elapsed = time.Since(sent)
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
			total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			r.cpuAfterSignal = total - cpuAtSignal
		}
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("running vaultdb: %v", err)
	}
	r.out, r.errOut = out.String(), errOut.String()
	return r
}

// processCPU is the CPU time (user+sys of all its threads) process pid has
// used so far; running is false once it has exited (used is then still
// its total until it is reaped, 0 after).
func processCPU(pid int) (used time.Duration, running bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime and stime fields 14 and 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks, f[0] != "Z"
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

func checkBounded(t *testing.T, r boundedResult, code int, errSubs ...string) {
	t.Helper()
	checkBoundedLines(t, r, code, false, errSubs...)
}

// checkBoundedLines is checkBounded; multi allows several lines on stderr
// (import reports one line per failed entry).
func checkBoundedLines(t *testing.T, r boundedResult, code int, multi bool, errSubs ...string) {
	t.Helper()
	if r.killed {
		t.Fatalf("still running after %v (killed); stderr: %.300s", hostileTimeLimit, r.errOut)
	}
	if r.maxRSS > hostileMemLimit {
		t.Errorf("peak RSS %d MB, above %d MB", r.maxRSS>>20, hostileMemLimit>>20)
	}
	if multi && r.code == code {
		r.code = 0 // check's one-line rule is for a failing command
		code = 0
	}
	check(t, r.result, code, "*", "")
	for _, sub := range errSubs {
		if !strings.Contains(r.errOut, sub) {
			t.Errorf("stderr %q does not contain %q", r.errOut, sub)
		}
	}
	if i := strings.IndexFunc(r.errOut, isRawControl); i >= 0 {
		t.Errorf("stderr holds a raw control character %q: %q", r.errOut[i], r.errOut)
	}
	if n := strings.Count(strings.TrimSuffix(r.errOut, "\n"), "\n"); n > 0 && code != 0 && !multi {
		t.Errorf("error is %d lines, want one: %q", n+1, r.errOut)
	}
}

// setConfig rewrites one field of the config, as a hostile store might.
func setConfig(t *testing.T, dir, old, new string) {
	t.Helper()
	f := filepath.Join(dir, "config")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), old, new, 1)
	if s == string(data) {
		t.Fatalf("config has no %q", old)
	}
	if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// shardOf returns the blob id of the shard of path p in the store at dir.
func shardOf(t *testing.T, dir, pass, p string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := format.ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := cfg.Unlock([]byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	r := format.NewRouter(keys.Router, cfg.Shards())
	return r.BlobID(r.ShardOf(p))
}

type hostileCase struct {
	name   string
	setup  func(t *testing.T, s *store) // makes the hostile store or input
	stdin  string
	env    []string
	args   []string
	code   int
	errSub []string
	// never lists strings that must not appear in stdout or stderr.
	never []string
	// writes: the command may change the store (a partial import);
	// multiLine: it may print several lines on stderr.
	writes, multiLine bool
	after             func(t *testing.T, s *store)
}

// hostileStore is a store with a few entries, TOTP among them, in the
// directories /, /mail/ and /mail/work/.
func hostileStore(t *testing.T) *store {
	s := newStore(t)
	s.must("", "init", "--iterations", "1000", "--shards", "3")
	s.must("secret-1", "set", "mail/work/login")
	s.must("secret-2", "set", "mail/home")
	s.must("secret-3", "set", "bank")
	s.must("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP\n", "totp", "add", "mail/otp")
	return s
}

func runHostile(t *testing.T, cases []hostileCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := hostileStore(t)
			if c.setup != nil {
				c.setup(t, s)
			}
			before := snapshot(t, s.dir)
			args := append([]string(nil), c.args...)
			for i, a := range args {
				// @VAR is the value of VAR in the store's environment,
				// which setup may add.
				if v, ok := strings.CutPrefix(a, "@"); ok {
					for _, kv := range s.env {
						if val, ok := strings.CutPrefix(kv, v+"="); ok {
							args[i] = val
						}
					}
				}
			}
			r := s.runLimited(hostileTimeLimit, c.stdin, c.env, nil, 0, args...)
			checkBoundedLines(t, r, c.code, c.multiLine, c.errSub...)
			for _, n := range c.never {
				if strings.Contains(r.out+r.errOut, n) {
					t.Errorf("output shows %q:\nstdout: %s\nstderr: %s", n, r.out, r.errOut)
				}
			}
			if !c.writes {
				sameSnapshot(t, before, snapshot(t, s.dir))
			}
			if c.after != nil {
				c.after(t, s)
			}
		})
	}
}

// TestHostileIterations: the PBKDF2 count of a config, and of init and
// passwd, is capped (issue 12 point 1).
func TestHostileIterations(t *testing.T) {
	t.Parallel()
	runHostile(t, []hostileCase{
		{name: "config asks 10^12 iterations", setup: func(t *testing.T, s *store) {
			setConfig(t, s.dir, `"iterations": 1000`, `"iterations": 1000000000000`)
		}, args: []string{"get", "bank"}, code: 1,
			errSub: []string{"password.iterations is 1000000000000, above the limit of 10000000"}},
		{name: "config asks 10^12 iterations, completion", setup: func(t *testing.T, s *store) {
			setConfig(t, s.dir, `"iterations": 1000`, `"iterations": 1000000000000`)
		}, args: []string{"__complete", "get", "ma"}, code: 0},
		{name: "config asks 10^7+1 iterations", setup: func(t *testing.T, s *store) {
			setConfig(t, s.dir, `"iterations": 1000`, `"iterations": 10000001`)
		}, args: []string{"ls"}, code: 1, errSub: []string{"above the limit of 10000000"}},
		{name: "init --iterations 10^12", setup: func(t *testing.T, s *store) { s.dir = filepath.Join(t.TempDir(), "new") },
			args: []string{"init", "--iterations", "1000000000000"}, code: 2,
			errSub: []string{"--iterations must be from 1 to 10000000"},
			after: func(t *testing.T, s *store) {
				if _, err := os.Stat(s.dir); err == nil {
					t.Error("init created the store directory")
				}
			}},
		{name: "passwd --iterations 10^12",
			args: []string{"passwd", "--iterations", "1000000000000"}, code: 2,
			errSub: []string{"--iterations must be from 1 to 10000000"}},
	})
}

// TestInterruptKeyDerivation: Ctrl-C and SIGTERM stop a command while it
// derives the key at the largest count a config may ask (issue 12 point 1).
//
// The signal goes once vaultdb has used 100 ms of CPU, which is past its
// start (its handlers are in place) and inside the derivation (10^7
// rounds take seconds of CPU). What it does after the signal is measured
// in CPU time: wall time measured the machine's load as well (a child
// that waits a second for a core on a loaded machine is not slow to stop).
func TestInterruptKeyDerivation(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			s := hostileStore(t)
			setConfig(t, s.dir, `"iterations": 1000`, `"iterations": 10000000`)
			before := snapshot(t, s.dir)
			r := s.runLimited(hostileTimeLimit, "", nil, sig, 100*time.Millisecond, "get", "bank")
			checkBounded(t, r, 130, "interrupted")
			// The rest of the derivation is seconds of CPU; a stop is at
			// most a few milliseconds of rounds plus the exit.
			if r.cpuAfterSignal > 250*time.Millisecond {
				t.Errorf("used %v of CPU after %v (exited %v after it)", r.cpuAfterSignal, sig, r.elapsed)
			}
			t.Logf("%v of CPU, %v after %v", r.cpuAfterSignal, r.elapsed, sig)
			sameSnapshot(t, before, snapshot(t, s.dir))
		})
	}
}

// TestHostileListings: a directory listing from the store is validated
// like a path from the user (issue 12 points 2 and 8).
func TestHostileListings(t *testing.T) {
	t.Parallel()
	// listing replaces the listing of dir with names.
	listing := func(dir, names string) func(t *testing.T, s *store) {
		return func(t *testing.T, s *store) { editItem(t, s.dir, "pw", dir, []byte(names)) }
	}
	var cases []hostileCase
	for _, cmd := range [][]string{{"ls", "-r"}, {"export"}, {"totp", "mail/"}, {"ls", "mail"}, {"rm", "-r", "-f", "mail/"}, {"mv", "mail/", "post/"}} {
		cases = append(cases, hostileCase{
			name:  "empty name in /mail/ " + strings.Join(cmd, " "),
			setup: listing("/mail/", `["","home","otp","work/"]`),
			args:  cmd, code: 1,
			errSub: []string{"is damaged: item \"/mail/\": directory listing holds an invalid name (name 1 of 4: empty)"},
		})
	}
	for name, l := range map[string]string{
		"empty directory name": `["/","home","otp","work/"]`,
		"dot dot":              `["../","home","otp","work/"]`,
		"slash inside":         `["home","otp","secret-A/secret-B","work/"]`,
		"control character":    `["home","otp","secret-\u001b[2J","work/"]`,
		"unsorted":             `["work/","home","otp"]`,
		"duplicate":            `["home","home","otp","work/"]`,
	} {
		cases = append(cases, hostileCase{
			name: name + " in /mail/", setup: listing("/mail/", l),
			args: []string{"ls", "-r"}, code: 1,
			errSub: []string{"is damaged: item \"/mail/\": directory listing"},
			never:  []string{"secret-", "\x1b"},
		})
	}
	cases = append(cases,
		hostileCase{name: "empty name in / ls -r", setup: listing("/", `["","bank","mail/"]`),
			args: []string{"ls", "-r"}, code: 1, errSub: []string{"item \"/\": directory listing holds an invalid name"}},
		hostileCase{name: "empty name in / fsck", setup: listing("/", `["","bank","mail/"]`),
			args: []string{"fsck"}, code: 8, errSub: []string{"1 problem remains"},
			after: func(t *testing.T, s *store) {
				r := s.run("", nil, "fsck")
				if !strings.Contains(r.out, "unreadable-item") || !strings.Contains(r.out, "invalid name") {
					t.Errorf("fsck output: %s", r.out)
				}
			}},
		hostileCase{name: "shard name in the error", setup: listing("/mail/", `["","home","otp","work/"]`),
			args: []string{"ls", "mail"}, code: 1,
			after: func(t *testing.T, s *store) {
				r := s.run("", nil, "ls", "mail")
				if want := "shard " + shardOf(t, s.dir, "pw", "/mail/") + " is damaged"; !strings.Contains(r.errOut, want) {
					t.Errorf("error %q does not name the shard (%q)", r.errOut, want)
				}
			}},
	)
	runHostile(t, cases)
}

// TestAlteredShardCount: a config whose shards.n was changed no longer
// shows an empty store; init refuses a location with leftover shards
// (issue 12 point 4).
func TestAlteredShardCount(t *testing.T) {
	t.Parallel()
	alter := func(n string) func(t *testing.T, s *store) {
		return func(t *testing.T, s *store) { setConfig(t, s.dir, `"n": 3`, `"n": `+n) }
	}
	const refused = "holds shard files its config does not name"
	runHostile(t, []hostileCase{
		// Which of the three shard files exist depends on where the store's
		// random routing key sent its four entries (a shard no entry went to
		// is never written): the message names at least one, of the old count.
		{name: "n 3 to 6, ls -r", setup: alter("6"), args: []string{"ls", "-r"}, code: 1,
			errSub: []string{refused, "the config names 6 shards", "(shard-"}, never: []string{"shard-0000-2aa9"}},
		{name: "n 3 to 1, get", setup: alter("1"), args: []string{"get", "bank"}, code: 1, errSub: []string{refused}},
		{name: "n 3 to 6, ls", setup: alter("6"), args: []string{"ls"}, code: 1, errSub: []string{refused}},
		{name: "n 3 to 6, export", setup: alter("6"), args: []string{"export"}, code: 1, errSub: []string{refused}},
		{name: "n 3 to 6, totp", setup: alter("6"), args: []string{"totp", "mail/otp"}, code: 1, errSub: []string{refused}},
		// A read-only command lists the store only when its read failed or
		// found nothing (the listing was a fifth of a get's CPU on a store of
		// 1,024 shards): a stray file beside an intact config hides no entry
		// that a get finds, and is named as soon as one seems missing.
		{name: "stray file, get of an entry", setup: strayFile, args: []string{"get", "bank"}, code: 0},
		{name: "stray file, get of a missing entry", setup: strayFile, args: []string{"get", "nothing"}, code: 1,
			errSub: []string{refused, "(shard-0000-0fff;", "the config names 3 shards"}},
		{name: "stray file, set", setup: strayFile, stdin: "new", args: []string{"set", "other"}, code: 1, errSub: []string{refused, "shard-0000-0fff"}},
		{name: "stray file, rm", setup: strayFile, args: []string{"rm", "-f", "bank"}, code: 1, errSub: []string{refused, "shard-0000-0fff"}},
		{name: "n 3 to 4, set", setup: alter("4"), stdin: "new", args: []string{"set", "other"}, code: 1, errSub: []string{refused}},
		{name: "n 3 to 6, fsck", setup: alter("6"), args: []string{"fsck"}, code: 8, errSub: []string{"remain"},
			after: func(t *testing.T, s *store) {
				// One finding per shard file of the old count (a shard no
				// entry was routed to was never written).
				files, _ := filepath.Glob(filepath.Join(s.dir, "shard-*"))
				r := s.run("", nil, "fsck")
				if n := strings.Count(r.out, "stray-shard shard-"); n != len(files) || n == 0 || !strings.Contains(r.out, "shards.n = 6") {
					t.Errorf("fsck output (%d shard files): %s", len(files), r.out)
				}
			}},
		{name: "init beside leftover shards", setup: func(t *testing.T, s *store) {
			if err := os.Remove(filepath.Join(s.dir, "config")); err != nil {
				t.Fatal(err)
			}
		}, args: []string{"init", "--iterations", "1000", "--shards", "2"}, code: 5,
			errSub: []string{"has no config but holds shard files (shard-"}},
	})
}

// strayFile puts a shard file that a store of 3 shards does not name
// beside the store's own (a copy of one of them, as a careless restore
// from another layout would leave).
func strayFile(t *testing.T, s *store) {
	files, err := filepath.Glob(filepath.Join(s.dir, "shard-*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shard files in %s: %v", s.dir, err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "shard-0000-0fff"), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// isRawControl reports a control character other than a line end, or a
// bidirectional control: nothing vaultdb prints from data may hold one.
func isRawControl(r rune) bool {
	return (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// TestControlCharactersNotEchoed: names from an import file and from the
// store reach the terminal with their control characters escaped (issue
// 12 point 14).
func TestControlCharactersNotEchoed(t *testing.T) {
	t.Parallel()
	runHostile(t, []hostileCase{
		{name: "import JSON key with escapes", stdin: `{"a\u001b[2Jb\u0007": "x", "c\u202etxt": "y", "ok": "z"}`,
			args: []string{"import"}, code: 1, writes: true, multiLine: true,
			errSub: []string{`a\x1b[2Jb\x07`, "1 entry of 3 could not be imported"},
			after: func(t *testing.T, s *store) {
				check(t, s.run("", nil, "get", "ok"), 0, "z\n", "")
			}},
		{name: "set path with escape", stdin: "x", args: []string{"set", "a\x1b[2J"}, code: 2, errSub: []string{"control character"}},
		{name: "get bidi path error", args: []string{"get", "nothing\u202eexe.txt"}, code: 3, errSub: []string{`nothing\u202eexe.txt: no such entry`}},
	})
}
