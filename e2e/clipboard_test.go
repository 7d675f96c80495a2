package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startX starts Xvfb on a free display and returns DISPLAY. Without Xvfb
// and xclip the test is skipped, except under CI (CI set), where it fails
// so that it cannot be skipped silently.
func startX(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"Xvfb", "xclip"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; .ci/run installs it (apt-get install -y xvfb xclip)", tool)
			}
			t.Skipf("%s is not installed (apt-get install -y xvfb xclip)", tool)
		}
	}
	// -displayfd: Xvfb picks a free display itself and writes its number
	// to fd 3, so parallel tests (and stale lock files) never collide.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	x := exec.Command("Xvfb", "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "320x240x8")
	x.ExtraFiles = []*os.File{w}
	if err := x.Start(); err != nil {
		t.Fatalf("starting Xvfb: %v", err)
	}
	w.Close()
	exited := make(chan struct{})
	go func() { x.Wait(); close(exited) }()
	num := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		num <- strings.TrimSpace(line)
	}()
	var n string
	select {
	case n = <-num:
	case <-time.After(10 * time.Second):
	}
	t.Cleanup(func() {
		// SIGTERM lets Xvfb remove its lock file; SIGKILL would leave it.
		x.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			x.Process.Kill()
			<-exited
			os.Remove("/tmp/.X" + n + "-lock")
			os.Remove("/tmp/.X11-unix/X" + n)
		}
	})
	if n == "" {
		t.Fatal("Xvfb did not report a display within 10 s")
	}
	return ":" + n
}

func xclipOut(t *testing.T, display string) string {
	t.Helper()
	c := exec.Command("xclip", "-o", "-selection", "clipboard")
	c.Env = []string{"DISPLAY=" + display, "PATH=" + os.Getenv("PATH")}
	out, _ := c.Output() // an empty selection may be an error
	return string(out)
}

func xclipIn(t *testing.T, display, text string) {
	t.Helper()
	c := exec.Command("xclip", "-i", "-selection", "clipboard")
	c.Env = []string{"DISPLAY=" + display, "PATH=" + os.Getenv("PATH")}
	c.Stdin = strings.NewReader(text)
	if err := c.Run(); err != nil {
		t.Fatalf("xclip -i: %v", err)
	}
}

func TestClipboard(t *testing.T) {
	// Not parallel: what it checks (requests batched by timing, a wall-time
	// bound) depends on the machine not being loaded by other tests.
	display := startX(t)
	s := newStore(t)
	s.env = append(s.env, "DISPLAY="+display)
	s.must("", "init", "--iterations", "1000")
	s.must("s3cret value", "set", "github/password")

	// Copied, said so on stderr, not printed; cleared after the timeout.
	start := time.Now()
	r := s.run("", nil, "get", "--clip", "--clip-timeout", "2s", "github/password")
	check(t, r, 0, "", "Copied /github/password to the clipboard")
	if time.Since(start) > 1500*time.Millisecond {
		t.Errorf("get --clip took %s: it must not wait for the clearing", time.Since(start))
	}
	if strings.Contains(r.errOut, "s3cret") {
		t.Errorf("secret on stderr: %q", r.errOut)
	}
	if got := xclipOut(t, display); got != "s3cret value" {
		t.Fatalf("clipboard holds %q, want the secret", got)
	}
	waitFor(t, 6*time.Second, func() bool { return xclipOut(t, display) == "" })

	// Not cleared if the user copied something else meanwhile.
	s.must("", "get", "-c", "--clip-timeout", "2s", "github/password")
	if got := xclipOut(t, display); got != "s3cret value" {
		t.Fatalf("clipboard holds %q, want the secret", got)
	}
	xclipIn(t, display, "something else")
	time.Sleep(3500 * time.Millisecond)
	if got := xclipOut(t, display); got != "something else" {
		t.Errorf("clipboard holds %q: the user's own copy was cleared", got)
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Errorf("condition not met within %s", d)
}

// xclipTarget reads the clipboard as one type (target).
func xclipTarget(t *testing.T, display, target string) string {
	t.Helper()
	c := exec.Command("xclip", "-o", "-selection", "clipboard", "-t", target)
	c.Env = []string{"DISPLAY=" + display, "PATH=" + os.Getenv("PATH")}
	out, _ := c.Output()
	return string(out)
}

// TestClipboardSensitiveHint: a copied secret carries the
// x-kde-passwordManagerHint type with the value "secret" beside the text,
// as KeePassXC's copies do, so that clipboard managers skip it; it is
// still cleared after the timeout (issue 12 point 16).
func TestClipboardSensitiveHint(t *testing.T) {
	display := startX(t)
	s := newStore(t)
	s.env = append(s.env, "DISPLAY="+display)
	s.must("", "init", "--iterations", "1000")
	s.must("s3cret välue", "set", "github/password")
	check(t, s.run("", nil, "get", "-c", "--clip-timeout", "2s", "github/password"), 0, "", "Copied")
	targets := xclipTarget(t, display, "TARGETS")
	for _, want := range []string{"x-kde-passwordManagerHint", "UTF8_STRING", "TARGETS"} {
		if !strings.Contains(targets, want) {
			t.Errorf("clipboard types %q lack %s", targets, want)
		}
	}
	if got := xclipTarget(t, display, "x-kde-passwordManagerHint"); got != "secret" {
		t.Errorf("x-kde-passwordManagerHint = %q, want secret", got)
	}
	for _, typ := range []string{"UTF8_STRING", "text/plain;charset=utf-8"} {
		if got := xclipTarget(t, display, typ); got != "s3cret välue" {
			t.Errorf("clipboard as %s holds %q", typ, got)
		}
	}
	waitFor(t, 6*time.Second, func() bool { return xclipOut(t, display) == "" })
	// A generated password is marked too.
	r := s.run("", nil, "set", "--generate", "-c", "--clip-timeout", "2s", "new/pw")
	check(t, r, 0, "", "")
	if got := xclipTarget(t, display, "x-kde-passwordManagerHint"); got != "secret" {
		t.Errorf("generated password: hint %q", got)
	}
	waitFor(t, 6*time.Second, func() bool { return xclipOut(t, display) == "" })
}
