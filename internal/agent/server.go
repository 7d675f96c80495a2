package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultTimeout is how long keys stay after their last use, gpg-agent's
// default-cache-ttl.
const DefaultTimeout = 10 * time.Minute

// ioTimeout bounds one request on either side, so that a peer that stops
// (or is stopped) mid-request costs a bounded wait, never a hang.
const ioTimeout = 3 * time.Second

// ErrRunning is returned by Listen when another agent holds the directory.
var ErrRunning = errors.New("another vaultdb agent is already running")

// Server holds keys and answers the clients.
type Server struct {
	// Timeout is how long keys are kept after their last use; 0 keeps
	// none (every put is refused, so commands always ask).
	Timeout time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Logf reports what the agent does (never a key); nil for silence.
	Logf func(format string, args ...any)

	mu      sync.Mutex
	entries map[string]*entry
	// lockWarned is set once mlock failed, so that the warning is given once.
	lockWarned bool
}

type entry struct {
	configID string
	shards   int
	mem      *keyMem // cipher key then router key
	used     time.Time
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// Listener is the agent's socket and the lock that makes it the only one.
type Listener struct {
	*net.UnixListener
	lock *os.File
	// Path is the socket's path.
	Path string
}

// Close stops listening, removes the socket and releases the lock.
func (l *Listener) Close() error {
	err := l.UnixListener.Close()
	l.lock.Close()
	return err
}

// Listen creates dir if needed (0700), checks it, takes the agent lock
// (ErrRunning if another agent has it), removes a socket left by an agent
// that died, and listens on a new socket that only this user may open.
func Listen(dir string) (*Listener, error) {
	path := filepath.Join(dir, SocketName)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("the agent socket %s is longer than the %d bytes a unix socket address holds; set XDG_RUNTIME_DIR to a shorter directory", path, maxSocketPath)
	}
	if err := makeDir(dir); err != nil {
		return nil, fmt.Errorf("the agent directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("the agent lock: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid, _ := os.ReadFile(filepath.Join(dir, lockName))
			if p, err := strconv.Atoi(string(pid)); err == nil {
				return nil, fmt.Errorf("%w (pid %d, socket %s)", ErrRunning, p, path)
			}
			return nil, fmt.Errorf("%w (socket %s)", ErrRunning, path)
		}
		return nil, fmt.Errorf("the agent lock: %w", err)
	}
	lock.Truncate(0)
	lock.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	// The lock is ours, so a socket here was left by an agent that died.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		lock.Close()
		return nil, fmt.Errorf("removing the stale agent socket: %w", err)
	}
	// The socket is created with the umask's mode; make it 0600 from the
	// start rather than chmod it after (the directory keeps others out
	// meanwhile anyway).
	old := syscall.Umask(0o177)
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("the agent socket: %w", err)
	}
	ul.SetUnlinkOnClose(true)
	return &Listener{UnixListener: ul, lock: lock, Path: path}, nil
}

// Serve answers clients until ctx is done, then forgets every key.
func (s *Server) Serve(ctx context.Context, l *Listener) error {
	defer s.forget("")
	stop := context.AfterFunc(ctx, func() { l.UnixListener.Close() })
	defer stop()
	go s.expire(ctx)
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go s.handle(c)
	}
}

// expire forgets keys unused for Timeout, checking every second.
func (s *Server) expire(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Expire()
		}
	}
}

// Expire forgets the keys unused for Timeout.
func (s *Server) Expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for loc, e := range s.entries {
		if now.Sub(e.used) >= s.Timeout {
			e.mem.free()
			delete(s.entries, loc)
			s.logf("forgot the keys of %s (unused for %s)", loc, s.Timeout)
		}
	}
}

func (s *Server) handle(c *net.UnixConn) {
	defer c.Close()
	uid, err := peerUID(c)
	if err != nil || uid != os.Getuid() {
		// Another user's process (root included): no answer at all.
		if err != nil {
			s.logf("refused a client: %v", err)
		} else {
			s.logf("refused a client of uid %d", uid)
		}
		return
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	kind, fields, body, err := readFrame(c)
	if err != nil {
		return
	}
	defer clear(body)
	switch {
	case kind == opGet && len(fields) == 2:
		s.get(c, string(fields[0]), string(fields[1]))
	case kind == opPut && len(fields) == 5:
		s.put(c, fields)
	case kind == opForget && len(fields) == 1:
		n := s.forget(string(fields[0]))
		writeFrame(c, ansOK, []byte(strconv.Itoa(n)))
	default:
		writeFrame(c, ansError, []byte("unknown request"))
	}
}

func (s *Server) get(c *net.UnixConn, loc, configID string) {
	s.mu.Lock()
	e := s.entries[loc]
	if e != nil && s.now().Sub(e.used) >= s.Timeout {
		e.mem.free()
		delete(s.entries, loc)
		e = nil
	}
	if e != nil && configID != "" && configID != e.configID {
		// The store changed (a new passphrase, a re-created store, a new
		// shard count or new keys): these keys belong to what it was.
		e.mem.free()
		delete(s.entries, loc)
		s.logf("forgot the keys of %s (its config changed)", loc)
		e = nil
	}
	if e == nil {
		s.mu.Unlock()
		writeFrame(c, ansMiss)
		return
	}
	e.used = s.now()
	k := e.mem.bytes()
	resp := [][]byte{[]byte(e.configID), []byte(strconv.Itoa(e.shards)), k[:cipherLen], k[cipherLen : cipherLen+routerLen]}
	// Written under the lock: free must not wipe the keys meanwhile.
	writeFrame(c, ansOK, resp...)
	s.mu.Unlock()
}

func (s *Server) put(c *net.UnixConn, f [][]byte) {
	loc, configID := string(f[0]), string(f[1])
	shards, err := strconv.Atoi(string(f[2]))
	if err != nil || shards < 1 || loc == "" || configID == "" || len(f[3]) != cipherLen || len(f[4]) != routerLen {
		writeFrame(c, ansError, []byte("malformed keys"))
		return
	}
	if s.Timeout <= 0 {
		writeFrame(c, ansMiss)
		return
	}
	mem, locked := newKeyMem(cipherLen + routerLen)
	k := mem.bytes()
	copy(k, f[3])
	copy(k[cipherLen:], f[4])
	s.mu.Lock()
	if !locked && !s.lockWarned {
		s.lockWarned = true
		s.logf("warning: cannot lock key memory (mlock; see RLIMIT_MEMLOCK): keys may be swapped out")
	}
	if old := s.entries[loc]; old != nil {
		old.mem.free()
	}
	if s.entries == nil {
		s.entries = map[string]*entry{}
	}
	s.entries[loc] = &entry{configID: configID, shards: shards, mem: mem, used: s.now()}
	s.mu.Unlock()
	s.logf("holding the keys of %s", loc)
	writeFrame(c, ansOK)
}

// forget drops the keys of loc, or all with "", and says how many.
func (s *Server) forget(loc string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for l, e := range s.entries {
		if loc == "" || l == loc {
			e.mem.free()
			delete(s.entries, l)
			n++
		}
	}
	if n > 0 {
		s.logf("forgot the keys of %d store(s)", n)
	}
	return n
}
