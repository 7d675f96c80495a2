package agent

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// shortDir is a temporary directory with a path short enough for a unix
// socket (t.TempDir's can pass 108 bytes with long test names).
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "vdba-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// start runs an agent in dir/vaultdb and returns its server and a client.
func start(t *testing.T, timeout time.Duration) (*Server, *Client, *clock, string) {
	t.Helper()
	dir := filepath.Join(shortDir(t), "vaultdb")
	l, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1e9, 0)}
	s := &Server{Timeout: timeout, Now: clk.now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		l.Close()
	})
	c, err := NewClient(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, clk, dir
}

func keys(b byte) *Entry {
	return &Entry{ConfigID: "cfg1", Shards: 4, Cipher: bytes.Repeat([]byte{b}, 32), Router: bytes.Repeat([]byte{b + 1}, 64)}
}

func TestPutGetForget(t *testing.T) {
	_, c, _, _ := start(t, time.Minute)
	if e, err := c.Get("dir:/s", ""); err != nil || e != nil {
		t.Fatalf("get before put: %v, %v", e, err)
	}
	if ok, err := c.Put("dir:/s", keys(1)); err != nil || !ok {
		t.Fatalf("put: %v, %v", ok, err)
	}
	if ok, err := c.Put("dir:/t", keys(7)); err != nil || !ok {
		t.Fatalf("put: %v, %v", ok, err)
	}
	for _, id := range []string{"", "cfg1"} {
		e, err := c.Get("dir:/s", id)
		if err != nil || e == nil {
			t.Fatalf("get %q: %v, %v", id, e, err)
		}
		if e.ConfigID != "cfg1" || e.Shards != 4 || !bytes.Equal(e.Cipher, keys(1).Cipher) || !bytes.Equal(e.Router, keys(1).Router) {
			t.Fatalf("get %q: wrong entry %v", id, e)
		}
		if strings.Contains(e.String(), "\x01") {
			t.Fatal("String shows the key")
		}
	}
	// Another config at the same location: a miss, and the old keys are gone.
	if e, err := c.Get("dir:/s", "cfg2"); err != nil || e != nil {
		t.Fatalf("get with another config: %v, %v", e, err)
	}
	if e, err := c.Get("dir:/s", ""); err != nil || e != nil {
		t.Fatalf("the keys of the old config stayed: %v, %v", e, err)
	}
	if n, err := c.Forget("dir:/nothing"); err != nil || n != 0 {
		t.Fatalf("forget unknown: %d, %v", n, err)
	}
	c.Put("dir:/s", keys(1))
	if n, err := c.Forget(""); err != nil || n != 2 {
		t.Fatalf("forget all: %d, %v", n, err)
	}
	if e, _ := c.Get("dir:/t", ""); e != nil {
		t.Fatal("keys stayed after forget all")
	}
}

func TestIdleTimeout(t *testing.T) {
	s, c, clk, _ := start(t, 10*time.Minute)
	c.Put("dir:/s", keys(1))
	clk.add(9 * time.Minute)
	if e, _ := c.Get("dir:/s", ""); e == nil {
		t.Fatal("keys gone before the timeout")
	}
	// The get was a use: the timeout runs from it.
	clk.add(9 * time.Minute)
	s.Expire()
	if e, _ := c.Get("dir:/s", ""); e == nil {
		t.Fatal("keys gone 9 minutes after their last use")
	}
	clk.add(10 * time.Minute)
	s.Expire()
	if e, _ := c.Get("dir:/s", ""); e != nil {
		t.Fatal("keys kept past the idle timeout")
	}
	// Expired between sweeps: get checks too.
	c.Put("dir:/s", keys(1))
	clk.add(11 * time.Minute)
	if e, _ := c.Get("dir:/s", ""); e != nil {
		t.Fatal("get served keys past the idle timeout")
	}
}

func TestTimeoutZeroKeepsNothing(t *testing.T) {
	_, c, _, _ := start(t, 0)
	if ok, err := c.Put("dir:/s", keys(1)); err != nil || ok {
		t.Fatalf("put with timeout 0: kept=%v, %v", ok, err)
	}
	if e, _ := c.Get("dir:/s", ""); e != nil {
		t.Fatal("timeout 0 kept keys")
	}
}

func TestMalformedRequests(t *testing.T) {
	_, c, _, _ := start(t, time.Minute)
	bad := &Entry{ConfigID: "x", Shards: 1, Cipher: make([]byte, 5), Router: make([]byte, 64)}
	if _, err := c.Put("dir:/s", bad); err == nil || !strings.Contains(err.Error(), "malformed keys") {
		t.Fatalf("short key: %v", err)
	}
	if _, _, _, err := c.call('z'); err == nil || !strings.Contains(err.Error(), "unknown request") {
		t.Fatalf("unknown op: %v", err)
	}
	// A frame longer than the bound: the agent hangs up without reading it.
	conn, err := net.Dial("unix", c.Path())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte{0xff, 0xff, 0xff, 0xff})
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("oversized frame answered: %d, %v", n, err)
	}
	conn.Close()
	// The agent still serves.
	if _, err := c.Put("dir:/s", keys(1)); err != nil {
		t.Fatal(err)
	}
}

func TestSecondAgentRefused(t *testing.T) {
	_, _, _, dir := start(t, time.Minute)
	if _, err := Listen(dir); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Listen: %v, want ErrRunning", err)
	}
}

func TestStaleSocket(t *testing.T) {
	dir := filepath.Join(shortDir(t), "vaultdb")
	l, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	// An agent that died: its socket stays, nobody listens, the lock is free.
	l.UnixListener.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Lstat(filepath.Join(dir, SocketName)); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("dir:/s", ""); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("get on a stale socket: %v, want ErrNoAgent", err)
	}
	l, err = Listen(dir)
	if err != nil {
		t.Fatalf("a new agent over a stale socket: %v", err)
	}
	l.Close()
}

func TestUnsafeModes(t *testing.T) {
	base := shortDir(t)
	dir := filepath.Join(base, "vaultdb")
	if _, err := NewClient(dir); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("no directory: %v", err)
	}
	os.Mkdir(dir, 0o755)
	os.Chmod(dir, 0o755)
	var ue *UnsafeError
	if _, err := Listen(dir); !errors.As(err, &ue) || !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("agent in a 0755 directory: %v", err)
	}
	if _, err := NewClient(dir); !errors.As(err, &ue) {
		t.Fatalf("client of a 0755 directory: %v", err)
	}
	os.Chmod(dir, 0o700)
	l, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := os.Lstat(l.Path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", st.Mode(), err)
	}
	os.Chmod(l.Path, 0o666)
	if _, err := NewClient(dir); !errors.As(err, &ue) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("client of a 0666 socket: %v", err)
	}
	// A symbolic link in place of the directory.
	link := filepath.Join(base, "link")
	os.Symlink(dir, link)
	if _, err := NewClient(link); !errors.As(err, &ue) {
		t.Fatalf("client through a symlinked directory: %v", err)
	}
}

func TestLongSocketPath(t *testing.T) {
	dir := filepath.Join(shortDir(t), strings.Repeat("d", 120))
	if _, err := Listen(dir); err == nil || !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
		t.Fatalf("long path: %v", err)
	}
}

func TestDir(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}
	if d := Dir(func(k string) string { return env[k] }); d != "/run/user/1000/vaultdb" {
		t.Errorf("Dir = %s", d)
	}
	env["XDG_RUNTIME_DIR"] = "relative"
	if d := Dir(func(k string) string { return env[k] }); !strings.HasPrefix(d, "/tmp/vaultdb-") {
		t.Errorf("Dir without an absolute XDG_RUNTIME_DIR = %s", d)
	}
}
