package e2e

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The agent (issue 13): real agent processes, real commands, and the bad
// input of the issue — a stale socket, a socket or directory of another
// user or with a wide mode, an agent stopped or killed mid-request, two
// agents at once — each a clear error or a fallback to the passphrase,
// never a hang.

// runtimeDir is a short XDG_RUNTIME_DIR (a unix socket path holds 107
// bytes, and t.TempDir's paths grow with the test's name).
func runtimeDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "vdbr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

type agentProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startAgent starts "vaultdb agent args" with XDG_RUNTIME_DIR=rt (as uid
// if cred is set) and waits until it listens. It is stopped when the test
// ends.
func startAgent(t *testing.T, binary, rt string, cred *syscall.Credential, args ...string) *agentProc {
	t.Helper()
	p := launchAgent(t, binary, rt, cred, args...)
	sock := filepath.Join(rt, "vaultdb", "agent.sock")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(p.stderr.String(), "listening on") {
			if _, err := os.Lstat(sock); err == nil {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("the agent exited: %s", p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not listen within 20s: %s", p.stderr)
		}
	}
}

func launchAgent(t *testing.T, binary, rt string, cred *syscall.Credential, args ...string) *agentProc {
	t.Helper()
	c := exec.Command(binary, append([]string{"agent"}, args...)...)
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "XDG_RUNTIME_DIR=" + rt}
	p := &agentProc{cmd: c, stderr: &syncBuffer{}, done: make(chan struct{})}
	c.Stderr = p.stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.Wait(); close(p.done) }()
	t.Cleanup(func() {
		c.Process.Signal(syscall.SIGCONT)
		c.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			c.Process.Kill()
			<-p.done
		}
	})
	return p
}

// exited waits for the agent to exit and returns its exit code.
func (p *agentProc) exited(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		t.Fatalf("the agent did not exit: %s", p.stderr)
		return 0
	}
}

// noPass makes a command fail unless the agent gives it the keys: the
// passphrase variable is set but empty.
var noPass = "VAULTDB_PASSPHRASE="

func agentStore(t *testing.T) (*store, []string) {
	s := newStore(t)
	rt := runtimeDir(t)
	env := []string{"XDG_RUNTIME_DIR=" + rt}
	s.must("", "init", "--iterations", "1000")
	s.must("v1", "set", "a")
	return s, env
}

func TestAgentServesKeys(t *testing.T) {
	t.Parallel()
	s, env := agentStore(t)
	rt := strings.TrimPrefix(env[0], "XDG_RUNTIME_DIR=")
	// No agent: the passphrase is needed.
	check(t, s.run("", append(env, noPass), "get", "a"), 2, "", "VAULTDB_PASSPHRASE is set but empty")
	a := startAgent(t, bin, rt, nil)
	// The first command unlocks with the passphrase and hands the keys over.
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "")
	// Then no passphrase, and a get is one request (no config read).
	r := s.run("", append(env, noPass), "--trace", "get", "a")
	check(t, r, 0, "v1\n", "1 requests (1 reads, 0 writes) in 1 rounds")
	if strings.Contains(r.errOut, "config") {
		t.Errorf("a get with the agent's keys read the config:\n%s", r.errOut)
	}
	// Writers read the config first, but need no passphrase either.
	check(t, s.run("v2", append(env, noPass), "set", "a"), 0, "", "")
	check(t, s.run("", append(env, noPass), "ls"), 0, "a\n", "")
	check(t, s.run("", append(env, noPass), "find", "a"), 0, "/a\n", "")
	check(t, s.run("", append(env, noPass), "grep", "v"), 0, "/a:v2\n", "")
	check(t, s.run("", append(env, noPass), "export"), 0, "{\n  \"/a\": \"v2\"\n}\n", "")
	// totp.
	uri := "otpauth://totp/GitHub:octocat?secret=" + e2eSecret + "&issuer=GitHub"
	check(t, s.run(uri+"\n", append(env, noPass), "totp", "add", "otp/gh"), 0, "", "")
	want := totpCode(t, e2eSecret, sha1.New, 1700000000, 30, 6)
	check(t, s.run("", append(env, noPass), "totp", "otp/gh", "--time", "1700000000"), 0, want+"\n", "")
	check(t, s.run("", append(env, noPass), "rm", "-r", "--force", "otp/"), 0, "", "")
	// git-credential get, which git runs on every push.
	check(t, s.run(`{"username":"me","password":"tok"}`, append(env, noPass), "set", "--json", "git/example.com"), 0, "", "")
	check(t, s.run("protocol=https\nhost=example.com\n\n", append(env, noPass), "git-credential", "get"), 0, "username=me\npassword=tok\n", "")
	check(t, s.run("protocol=https\nhost=other.example\n\n", append(env, noPass), "git-credential", "get"), 0, "", "")
	check(t, s.run("", append(env, noPass), "rm", "-r", "--force", "git/"), 0, "", "")
	// Completion, which never prompts, completes with the agent's keys.
	check(t, s.run("", append(env, noPass), "__complete", "get", ""), 0, "a\n:4\n", "")
	// The same store through another path names the same keys.
	rel, err := filepath.Rel("/", s.dir)
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(bin, "--store", rel, "get", "a")
	c.Dir = "/"
	c.Env = append(append([]string(nil), s.env...), append(env, noPass)...)
	if out, err := c.Output(); err != nil || string(out) != "v2\n" {
		t.Errorf("get through a relative path: %q, %v", out, err)
	}
	// The opt-outs.
	check(t, s.run("", append(env, noPass), "--no-agent", "get", "a"), 2, "", "VAULTDB_PASSPHRASE is set but empty")
	check(t, s.run("", append(env, noPass, "VAULTDB_NO_AGENT=1"), "get", "a"), 2, "", "VAULTDB_PASSPHRASE is set but empty")
	// A missing entry is still a plain "not found" (after one config read
	// that confirms the keys).
	check(t, s.run("", append(env, noPass), "get", "nope"), 3, "", "no such entry")
	// lock forgets.
	check(t, s.run("", env, "lock"), 0, "", "forgot the keys of 1 store(s)")
	check(t, s.run("", append(env, noPass), "get", "a"), 2, "", "VAULTDB_PASSPHRASE is set but empty")
	// lock --store-only forgets one store.
	other := newStore(t)
	other.must("", "init", "--iterations", "1000")
	other.must("o", "set", "b")
	check(t, s.run("", env, "get", "a"), 0, "v2\n", "")
	check(t, other.run("", env, "get", "b"), 0, "o\n", "")
	check(t, s.run("", env, "lock", "--store-only"), 0, "", "forgot the keys of 1 store(s)")
	check(t, s.run("", append(env, noPass), "get", "a"), 2, "", "set but empty")
	check(t, other.run("", append(env, noPass), "get", "b"), 0, "o\n", "")
	// The keys' page is locked in memory (root may always lock).
	if os.Geteuid() == 0 {
		status, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(a.cmd.Process.Pid), "status"))
		m := regexp.MustCompile(`VmLck:\s+(\d+) kB`).FindSubmatch(status)
		if m == nil || string(m[1]) == "0" {
			t.Errorf("the agent holds keys but has no locked memory:\n%s", status)
		}
	}
	// The agent logs what it does, never a key.
	if strings.Contains(a.stderr.String(), "v2") {
		t.Errorf("the agent's log holds an entry: %s", a.stderr)
	}
}

// TestAgentStaleKeys: a new passphrase, a store re-created at the same
// place: the keys the agent holds are dropped, and no command uses them to
// read or write.
func TestAgentStaleKeys(t *testing.T) {
	t.Parallel()
	s, env := agentStore(t)
	rt := strings.TrimPrefix(env[0], "XDG_RUNTIME_DIR=")
	startAgent(t, bin, rt, nil)
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "")

	// passwd asks for the current passphrase even so, and the keys go.
	check(t, s.run("", append(env, noPass), "passwd"), 2, "", "VAULTDB_PASSPHRASE is set but empty")
	pw2 := filepath.Join(t.TempDir(), "pw2")
	os.WriteFile(pw2, []byte("another passphrase 2\n"), 0o600)
	check(t, s.run("", env, "passwd", "--new-passphrase-file", pw2, "--iterations", "1000"), 0, "", "Changed the passphrase")
	check(t, s.run("", append(env, noPass), "get", "a"), 2, "", "set but empty")
	check(t, s.run("", append(env, "VAULTDB_PASSPHRASE=another passphrase 2"), "get", "a"), 0, "v1\n", "")
	check(t, s.run("", append(env, noPass), "get", "a"), 0, "v1\n", "")

	// The store is re-created with other keys (and other entries) while
	// the agent holds the old ones. Every reading command, and a write,
	// runs once with the old keys in the agent: a read with them fails or
	// misses, the config is read, it is another, so the command asks for
	// the passphrase; the write reads the config first.
	oldCopy, newCopy := filepath.Join(t.TempDir(), "old"), filepath.Join(t.TempDir(), "new")
	copyDir(t, s.dir, oldCopy)
	os.RemoveAll(s.dir)
	fresh := append(env, "VAULTDB_PASSPHRASE=pw3", "VAULTDB_NO_AGENT=1")
	check(t, s.run("", fresh, "init", "--iterations", "1000"), 0, "", "")
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		check(t, s.run("new-"+k, fresh, "set", k), 0, "", "")
	}
	copyDir(t, s.dir, newCopy)
	// And an empty new store: the old keys route to shards it has not
	// written, so reads seem to find nothing rather than fail.
	emptyCopy := filepath.Join(t.TempDir(), "empty")
	os.RemoveAll(s.dir)
	check(t, s.run("", fresh, "init", "--iterations", "1000"), 0, "", "")
	copyDir(t, s.dir, emptyCopy)
	place := func(from string) {
		os.RemoveAll(s.dir)
		copyDir(t, from, s.dir)
	}
	for _, c := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"get", "a"}}, {"", []string{"get", "h"}}, {"", []string{"get", "zz"}},
		{"", []string{"ls"}}, {"", []string{"ls", "-r"}}, {"", []string{"find", "a"}}, {"", []string{"grep", "new"}},
		{"protocol=https\nhost=example.com\n\n", []string{"git-credential", "get"}},
		{"", []string{"totp", "a"}}, {"", []string{"totp"}}, {"", []string{"export"}},
		{"x", []string{"set", "a"}}, {"", []string{"rm", "--force", "a"}},
	} {
		for _, recreated := range []string{newCopy, emptyCopy} {
			place(oldCopy)
			check(t, s.run("", append(env, "VAULTDB_PASSPHRASE=another passphrase 2"), "get", "a"), 0, "v1\n", "")
			place(recreated)
			check(t, s.run(c.stdin, append(env, noPass), c.args...), 2, "", "set but empty")
			// Nothing was written with the old keys.
			if recreated == emptyCopy {
				check(t, s.run("", fresh, "ls"), 0, "", "")
			} else {
				check(t, s.run("", fresh, "get", "a"), 0, "new-a\n", "")
			}
		}
	}
	place(newCopy)
	// Completion never prompts: with stale keys it completes nothing.
	place(oldCopy)
	check(t, s.run("", append(env, "VAULTDB_PASSPHRASE=another passphrase 2"), "get", "a"), 0, "v1\n", "")
	place(newCopy)
	check(t, s.run("", append(env, noPass), "__complete", "get", ""), 0, ":4\n", "")
	// With the new passphrase the agent gets the new keys.
	check(t, s.run("", append(env, "VAULTDB_PASSPHRASE=pw3"), "get", "a"), 0, "new-a\n", "")
	check(t, s.run("", append(env, noPass), "get", "h"), 0, "new-h\n", "")
}

// TestAgentReshard: after a reshard the agent's shard count is stale and
// the old shard files are sealed: a get with the cached keys reads a seal
// (ErrMoved), reads the config once, finds another, and asks for the
// passphrase; then it is one request again, though the old layout's
// sealed files lie beside the new ones.
func TestAgentReshard(t *testing.T) {
	t.Parallel()
	s, env := agentStore(t)
	rt := strings.TrimPrefix(env[0], "XDG_RUNTIME_DIR=")
	startAgent(t, bin, rt, nil)
	for _, k := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		check(t, s.run("v-"+k, env, "set", k), 0, "", "")
	}
	check(t, s.run("", append(env, noPass), "get", "a"), 0, "v1\n", "")
	check(t, s.run("", append(env, "VAULTDB_NO_AGENT=1"), "reshard", "8"), 0, "*", "")
	for _, k := range []string{"a", "h"} {
		check(t, s.run("", append(env, noPass), "get", k), 2, "", "set but empty")
		// The keys went with the old config; the passphrase gives them
		// back with the new one.
		want := "v1\n"
		if k == "h" {
			want = "v-h\n"
		}
		check(t, s.run("", env, "get", k), 0, want, "")
		check(t, s.run("", append(env, noPass), "--trace", "get", k), 0, want, "1 requests (1 reads, 0 writes) in 1 rounds")
		if k == "a" {
			check(t, s.run("", append(env, "VAULTDB_NO_AGENT=1"), "reshard", "16"), 0, "*", "")
		}
	}
}

// TestAgentReshardDropbox: on a store that cannot be listed (no stray
// check), a get with the agent's keys is one request; after a reshard it
// reads a sealed shard (ErrMoved), then the config, and asks for the
// passphrase; then it is one request again, on the new layout.
func TestAgentReshardDropbox(t *testing.T) {
	t.Parallel()
	d := newDropboxStore(t)
	d.mustLogin()
	rt := runtimeDir(t)
	env := []string{"XDG_RUNTIME_DIR=" + rt}
	startAgent(t, bin, rt, nil)
	check(t, d.run("", env, "init", "--iterations", "1000"), 0, "", "")
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		check(t, d.run("v-"+k, env, "set", k), 0, "", "")
	}
	check(t, d.run("", env, "get", "a"), 0, "v-a\n", "")
	check(t, d.run("", append(env, noPass), "--trace", "get", "a"), 0, "v-a\n", "1 requests (1 reads, 0 writes) in 1 rounds")
	check(t, d.run("", append(env, "VAULTDB_NO_AGENT=1"), "reshard", "8"), 0, "*", "")
	r := d.run("", append(env, noPass), "--trace", "get", "a")
	shard, config := strings.Index(r.errOut, "read  shard-"), strings.Index(r.errOut, "read  config")
	if r.code != 2 || !strings.Contains(r.errOut, "set but empty") || shard < 0 || config < shard {
		t.Errorf("get with the keys of the old layout: exit %d, %s", r.code, r.errOut)
	}
	check(t, d.run("", env, "get", "a"), 0, "v-a\n", "")
	check(t, d.run("", append(env, noPass), "--trace", "get", "h"), 0, "v-h\n", "1 requests (1 reads, 0 writes) in 1 rounds")
}

// TestAgentIdleTimeout: --timeout reaches the agent: keys unused that
// long are forgotten (the timing itself is internal/agent's
// TestIdleTimeout, on an injected clock; here only that it happens).
func TestAgentIdleTimeout(t *testing.T) {
	t.Parallel()
	s, env := agentStore(t)
	rt := strings.TrimPrefix(env[0], "XDG_RUNTIME_DIR=")
	a := startAgent(t, bin, rt, nil, "--timeout", "1s")
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "")
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(a.stderr.String(), "unused for 1s"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not forget the keys within 30s: %s", a.stderr)
		}
	}
	check(t, s.run("", append(env, noPass), "get", "a"), 2, "", "set but empty")
	check(t, s.run("", env, "agent", "--timeout", "-1s"), 2, "", "--timeout must not be negative")
}

func TestAgentTimeoutZero(t *testing.T) {
	t.Parallel()
	s, env := agentStore(t)
	rt := strings.TrimPrefix(env[0], "XDG_RUNTIME_DIR=")
	startAgent(t, bin, rt, nil, "--timeout", "0")
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "")
	check(t, s.run("", append(env, noPass), "get", "a"), 2, "", "set but empty")
}

// TestAgentBadSockets: what others could leave in the agent's place, and
// what a dead agent leaves.
func TestAgentBadSockets(t *testing.T) {
	t.Parallel()
	s, env := agentStore(t)
	rt := strings.TrimPrefix(env[0], "XDG_RUNTIME_DIR=")
	dir := filepath.Join(rt, "vaultdb")
	sock := filepath.Join(dir, "agent.sock")

	// A stale socket: the agent was killed. Commands fall back quietly;
	// a new agent replaces the socket.
	a := startAgent(t, bin, rt, nil)
	a.cmd.Process.Kill()
	a.exited(t)
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("the killed agent left no socket: %v", err)
	}
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "")
	if r := s.run("", env, "get", "a"); r.errOut != "" {
		t.Errorf("a stale socket gave a message: %q", r.errOut)
	}
	startAgent(t, bin, rt, nil)
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "")
	check(t, s.run("", append(env, noPass), "get", "a"), 0, "v1\n", "")

	// A directory others may enter: not used, and said so.
	os.Chmod(dir, 0o755)
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "not using the agent: "+dir+" may be used by other users (mode 0755; chmod 700)")
	if r := s.run("", append(env, noPass), "get", "a"); r.code != 2 || !strings.Contains(r.errOut, "not using the agent") || !strings.Contains(r.errOut, "set but empty") {
		t.Errorf("no passphrase, agent directory 0755: exit %d, %q", r.code, r.errOut)
	}
	os.Chmod(dir, 0o700)
	// A socket others may open.
	os.Chmod(sock, 0o666)
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "not using the agent: "+sock+" may be used by other users (mode 0666; chmod 600)")
	os.Chmod(sock, 0o600)
	check(t, s.run("", append(env, noPass), "get", "a"), 0, "v1\n", "")
	// The agent refuses to start in a directory others may enter.
	rt2 := runtimeDir(t)
	os.Mkdir(filepath.Join(rt2, "vaultdb"), 0o777)
	os.Chmod(filepath.Join(rt2, "vaultdb"), 0o777)
	p := launchAgent(t, bin, rt2, nil)
	if code := p.exited(t); code == 0 || !strings.Contains(p.stderr.String(), "not starting the agent") || !strings.Contains(p.stderr.String(), "chmod 700") {
		t.Errorf("agent in a 0777 directory: exit %d, %s", code, p.stderr)
	}
}

// TestAgentOtherUser: a socket and directory of another user are refused
// by the command line; an agent refuses clients of another user
// (SO_PEERCRED), root included.
func TestAgentOtherUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the agent as another user")
	}
	s, env := agentStore(t)
	rt := strings.TrimPrefix(env[0], "XDG_RUNTIME_DIR=")
	// The other user needs to reach its directory and the binary.
	os.Chmod(rt, 0o755)
	base := runtimeDir(t)
	os.Chmod(base, 0o755)
	nb := binaryIn(t, base)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	os.Chown(rt, 65534, 65534)
	ag := startAgent(t, nb, rt, nobody)
	sock := filepath.Join(rt, "vaultdb", "agent.sock")
	// Not dumpable (its /proc files are root's, so no ptrace or
	// /proc/PID/mem by its own user) and no core file.
	proc := filepath.Join("/proc", strconv.Itoa(ag.cmd.Process.Pid))
	if st, err := os.Stat(filepath.Join(proc, "environ")); err != nil || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("the agent's /proc/PID/environ is not root's (%v): the agent is dumpable", err)
	}
	if limits, _ := os.ReadFile(filepath.Join(proc, "limits")); !regexp.MustCompile(`Max core file size\s+0\s+0\s`).Match(limits) {
		t.Errorf("the agent's core limit is not 0:\n%s", limits)
	}
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "not using the agent: "+filepath.Join(rt, "vaultdb")+" belongs to uid 65534, not to this user (uid 0)")
	// Root connecting anyway gets no answer from another user's agent.
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0, 0, 0, 5, 'g', 0, 0, 0, 0})
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || os.IsTimeout(err) {
		t.Errorf("another user's agent answered root: %d bytes, %v", n, err)
	}
}

// TestAgentStoppedOrKilledMidRequest: an agent that stops answering costs
// a bounded wait and a warning; one killed while a command waits on it
// lets the command go on at once.
func TestAgentStoppedOrKilledMidRequest(t *testing.T) {
	t.Parallel()
	s, env := agentStore(t)
	rt := strings.TrimPrefix(env[0], "XDG_RUNTIME_DIR=")
	a := startAgent(t, bin, rt, nil)
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "")
	// Stopped: the kernel still accepts the connection, nobody answers.
	a.cmd.Process.Signal(syscall.SIGSTOP)
	// The signal is asynchronous: wait until the agent is stopped, or a
	// fast command is still served (seen once under load).
	for i := 0; i < 2000; i++ {
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", a.cmd.Process.Pid)); strings.Contains(string(st), ") T ") {
			break
		}
		time.Sleep(time.Millisecond)
	}
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "did not answer within")
	// Killed while a command waits on it.
	done := make(chan result, 1)
	go func() { done <- s.run("", env, "get", "a") }()
	time.Sleep(300 * time.Millisecond)
	a.cmd.Process.Kill()
	r := <-done
	// Either the command was waiting (the agent closed the connection) or
	// it had not connected yet (no agent): both go on to the passphrase.
	check(t, r, 0, "v1\n", "")
	if r.errOut != "" && !strings.Contains(r.errOut, "closed the connection without answering") && !strings.Contains(r.errOut, "did not answer") {
		t.Errorf("killed agent: %q", r.errOut)
	}
}

// TestAgentSignals: SIGTERM and SIGHUP (a closed terminal) end the agent
// cleanly: exit 0, socket removed.
func TestAgentSignals(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		rt := runtimeDir(t)
		a := startAgent(t, bin, rt, nil)
		a.cmd.Process.Signal(sig)
		if code := a.exited(t); code != 0 || !strings.Contains(a.stderr.String(), "every key forgotten") {
			t.Errorf("%v: exit %d, %s", sig, code, a.stderr)
		}
		if _, err := os.Lstat(filepath.Join(rt, "vaultdb", "agent.sock")); !os.IsNotExist(err) {
			t.Errorf("%v: the socket stayed (%v)", sig, err)
		}
	}
}

// TestAgentTwoAtOnce: two agents started together: one serves, the other
// says that one runs.
func TestAgentTwoAtOnce(t *testing.T) {
	t.Parallel()
	for i := 0; i < 3; i++ {
		rt := runtimeDir(t)
		p1 := launchAgent(t, bin, rt, nil)
		p2 := launchAgent(t, bin, rt, nil)
		var loser *agentProc
		for deadline := time.Now().Add(20 * time.Second); loser == nil; time.Sleep(10 * time.Millisecond) {
			select {
			case <-p1.done:
				loser = p1
			case <-p2.done:
				loser = p2
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("both agents still run: %s / %s", p1.stderr, p2.stderr)
			}
		}
		winner := p1
		if loser == p1 {
			winner = p2
		}
		// "(pid N, socket ...)", or "(socket ...)" when the loser read the
		// lock file before the winner wrote its pid there.
		if code := loser.exited(t); code == 0 || !strings.Contains(loser.stderr.String(), "another vaultdb agent is already running (") {
			t.Errorf("the second agent: exit %d, %s", code, loser.stderr)
		}
		s, env := newStore(t), []string{"XDG_RUNTIME_DIR=" + rt}
		s.must("", "init", "--iterations", "1000")
		s.must("x", "set", "a")
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(winner.stderr.String(), "listening"); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the first agent does not listen: %s", winner.stderr)
			}
		}
		check(t, s.run("", env, "get", "a"), 0, "x\n", "")
		check(t, s.run("", append(env, noPass), "get", "a"), 0, "x\n", "")
	}
}

// TestAgentAcrossReshard: with the agent holding the keys, a reshard and a
// key rotation hand it the store's keys as they are afterwards: the next
// commands need no passphrase, and none reads or writes through the old
// layout. A client that kept the old layout's shard count is refused and
// told to run again.
func TestAgentAcrossReshard(t *testing.T) {
	t.Parallel()
	s, env := agentStore(t)
	rt := strings.TrimPrefix(env[0], "XDG_RUNTIME_DIR=")
	startAgent(t, bin, rt, nil)
	check(t, s.run("", env, "get", "a"), 0, "v1\n", "")
	check(t, s.run("", append(env, noPass), "reshard", "8"), 0, "", "from 4 to 8 shards")
	// The old layout's sealed files stay; a get with the agent's keys
	// does not look at them (it routes by the shard count the agent holds
	// from the new config): one request.
	r := s.run("", append(env, noPass), "--trace", "get", "a")
	check(t, r, 0, "v1\n", "1 requests (1 reads, 0 writes) in 1 rounds")
	check(t, s.run("v2", append(env, noPass), "set", "a"), 0, "", "")
	// A rotation needs the passphrase itself (it wraps the new keys), and
	// the agent then holds the new keys.
	check(t, s.run("", append(env, noPass), "passwd", "--rotate-keys"), 2, "", "set but empty")
	check(t, s.run("", env, "passwd", "--rotate-keys"), 0, "", "Rotated the keys")
	check(t, s.run("", append(env, noPass), "get", "a"), 0, "v2\n", "")
	check(t, s.run("", append(env, noPass), "fsck"), 0, "*", "")
}
