package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ptyRun is vaultdb running with a pseudo-terminal as its controlling
// terminal and its stdin, stdout and stderr, as in a user's shell.
type ptyRun struct {
	t      *testing.T
	master *os.File
	slave  *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{}
	code   int
}

// openPTY opens a new pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Fatalf("unlocking the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatalf("opening the pty: %v", err)
	}
	return m, s
}

// startPTY starts vaultdb --store DIR args on a new terminal.
func (s *store) startPTY(extraEnv []string, args ...string) *ptyRun {
	s.t.Helper()
	m, sl := openPTY(s.t)
	c := exec.Command(bin, append([]string{"--store", s.dir}, args...)...)
	c.Env = append(append([]string(nil), s.env...), extraEnv...)
	c.Env = append(c.Env, "TERM=xterm")
	c.Stdin, c.Stdout, c.Stderr = sl, sl, sl
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.Start(); err != nil {
		s.t.Fatal(err)
	}
	p := &ptyRun{t: s.t, master: m, slave: sl, cmd: c, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := c.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		}
		close(p.done)
	}()
	s.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			c.Process.Kill()
			<-p.done
		}
		m.Close()
		sl.Close()
	})
	return p
}

// output is what the program wrote to the terminal so far.
func (p *ptyRun) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// expect waits until the terminal shows want.
func (p *ptyRun) expect(want string) {
	p.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(p.output(), want) {
			return
		}
		select {
		case <-p.done:
			p.catchUp()
			if strings.Contains(p.output(), want) {
				return
			}
			p.t.Fatalf("exited (code %d) without showing %q; the terminal shows %q", p.code, want, p.output())
		default:
		}
	}
	p.t.Fatalf("the terminal does not show %q; it shows %q", want, p.output())
}

// typ types text on the terminal's keyboard.
func (p *ptyRun) typ(text string) {
	p.t.Helper()
	if _, err := p.master.Write([]byte(text)); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for the program to exit and returns its exit code.
func (p *ptyRun) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("still running; the terminal shows %q", p.output())
	}
	p.catchUp()
	return p.code
}

// catchUp waits until the reader has all the program wrote to the
// terminal. A quiet spell is no proof on a loaded machine (the reader
// may not have run yet): the test writes a marker to the terminal itself,
// which comes out after everything written before it, and waits for it.
func (p *ptyRun) catchUp() {
	p.t.Helper()
	marker := fmt.Sprintf("[test output ends %d]", time.Now().UnixNano())
	if _, err := p.slave.WriteString(marker); err != nil {
		p.t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p.mu.Lock()
		i := strings.Index(p.out.String(), marker)
		if i >= 0 {
			p.out.Truncate(i)
		}
		p.mu.Unlock()
		if i >= 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the terminal's output did not arrive within 30s; it shows %q", p.output())
		}
	}
}

// pendingInput is the number of bytes typed on the terminal that nobody
// has read: what the shell would read and run after the program exits.
func (p *ptyRun) pendingInput() int {
	n, err := unix.IoctlGetInt(int(p.slave.Fd()), unix.TIOCINQ)
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}
