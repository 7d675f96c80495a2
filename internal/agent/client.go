package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ErrNoAgent means that no agent is running: there is no socket, or no
// process listens on it (a socket left by an agent that died).
var ErrNoAgent = errors.New("no vaultdb agent is running")

// Client talks to the agent whose directory is Dir.
type Client struct {
	dir     string
	path    string
	timeout time.Duration
}

// NewClient checks the agent's directory and socket and returns a client,
// or ErrNoAgent, or an error saying why the agent must not be used (an
// UnsafeError for a directory or socket another user could have made or
// could reach).
func NewClient(dir string) (*Client, error) {
	path := filepath.Join(dir, SocketName)
	if err := CheckDir(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoAgent
		}
		return nil, err
	}
	if err := checkSocket(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoAgent
		}
		return nil, err
	}
	return &Client{dir: dir, path: path, timeout: ioTimeout}, nil
}

// Path is the agent's socket.
func (c *Client) Path() string { return c.path }

// call sends one request and reads the answer. A socket nobody listens on
// is ErrNoAgent; an agent that does not answer within the timeout, or
// closes the connection, is an error saying so.
func (c *Client) call(kind byte, fields ...[]byte) (byte, [][]byte, []byte, error) {
	conn, err := net.DialTimeout("unix", c.path, c.timeout)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist) {
			return 0, nil, nil, ErrNoAgent
		}
		return 0, nil, nil, fmt.Errorf("cannot reach the agent at %s: %w", c.path, err)
	}
	defer conn.Close()
	uc := conn.(*net.UnixConn)
	// The socket's owner was checked, but the process that listens on it
	// is what answers: it must be this user's too.
	if uid, err := peerUID(uc); err != nil || uid != os.Getuid() {
		if err != nil {
			return 0, nil, nil, fmt.Errorf("cannot tell who listens on %s: %w", c.path, err)
		}
		return 0, nil, nil, &UnsafeError{c.path, fmt.Sprintf("is served by uid %d, not by this user (uid %d)", uid, os.Getuid())}
	}
	conn.SetDeadline(time.Now().Add(c.timeout))
	if err := writeFrame(conn, kind, fields...); err != nil {
		return 0, nil, nil, c.ioError(err)
	}
	k, f, body, err := readFrame(conn)
	if err != nil {
		return 0, nil, nil, c.ioError(err)
	}
	if k == ansError {
		msg := ""
		if len(f) > 0 {
			msg = string(f[0])
		}
		clear(body)
		return 0, nil, nil, fmt.Errorf("the agent at %s refused: %s", c.path, msg)
	}
	return k, f, body, nil
}

func (c *Client) ioError(err error) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("the agent at %s did not answer within %s", c.path, c.timeout)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("the agent at %s closed the connection without answering", c.path)
	}
	return fmt.Errorf("talking to the agent at %s: %w", c.path, err)
}

// Get returns the keys the agent holds for the store at loc, or nil if it
// holds none. With configID set, keys held for another config are a miss,
// and the agent forgets them.
func (c *Client) Get(loc, configID string) (*Entry, error) {
	k, f, body, err := c.call(opGet, []byte(loc), []byte(configID))
	if err != nil {
		return nil, err
	}
	defer clear(body)
	if k == ansMiss {
		return nil, nil
	}
	if k != ansOK || len(f) != 4 || len(f[2]) != cipherLen || len(f[3]) != routerLen {
		return nil, fmt.Errorf("the agent at %s gave a malformed answer", c.path)
	}
	shards, err := strconv.Atoi(string(f[1]))
	if err != nil || shards < 1 {
		return nil, fmt.Errorf("the agent at %s gave a malformed answer", c.path)
	}
	return &Entry{ConfigID: string(f[0]), Shards: shards,
		Cipher: append([]byte(nil), f[2]...), Router: append([]byte(nil), f[3]...)}, nil
}

// Put hands the agent the keys of the store at loc. It reports whether the
// agent keeps them (not with a timeout of 0).
func (c *Client) Put(loc string, e *Entry) (bool, error) {
	k, _, body, err := c.call(opPut, []byte(loc), []byte(e.ConfigID), []byte(strconv.Itoa(e.Shards)), e.Cipher, e.Router)
	if err != nil {
		return false, err
	}
	clear(body)
	return k == ansOK, nil
}

// Forget makes the agent drop the keys of the store at loc, or of every
// store with "", and returns how many it dropped.
func (c *Client) Forget(loc string) (int, error) {
	k, f, _, err := c.call(opForget, []byte(loc))
	if err != nil {
		return 0, err
	}
	if k != ansOK || len(f) != 1 {
		return 0, fmt.Errorf("the agent at %s gave a malformed answer", c.path)
	}
	n, err := strconv.Atoi(string(f[0]))
	if err != nil {
		return 0, fmt.Errorf("the agent at %s gave a malformed answer", c.path)
	}
	return n, nil
}
