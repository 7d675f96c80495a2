package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
)

// What the tests of this package share, started on first use and stopped
// by TestMain: one browser (test/driver.mjs), the site, and the vaultdb
// binary. Building the wasm and starting
// Chromium cost seconds each on a loaded machine; once per package keeps
// the browser tests short.
var shared struct {
	mu      sync.Mutex
	dir     string // removed by TestMain
	driver  *driver
	site    string // URL
	siteDir string
	servers []*httptest.Server
	binary  string
	errs    map[string]error // what failed to start, so later tests fail fast
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.driver != nil {
		shared.driver.close()
	}
	for _, s := range shared.servers {
		s.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	shared.mu.Unlock()
	rstest.Shutdown()
	os.Exit(code)
}

// sharedDir returns a directory that lives until the tests end; the
// caller holds shared.mu.
func sharedDir(t *testing.T) string {
	t.Helper()
	if shared.dir == "" {
		d, err := os.MkdirTemp("", "vaultdb-web-test-")
		if err != nil {
			t.Fatal(err)
		}
		shared.dir = d
	}
	return shared.dir
}

// once runs start under key the first time and remembers its error.
func once(t *testing.T, key string, start func() error) {
	t.Helper()
	if shared.errs == nil {
		shared.errs = map[string]error{}
	}
	if err, done := shared.errs[key]; done {
		if err != nil {
			t.Fatalf("%s failed earlier: %v", key, err)
		}
		return
	}
	err := start()
	shared.errs[key] = err
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

// serveSite serves the site on 127.0.0.1 and returns its URL; it is built
// once.
func serveSite(t *testing.T) string {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	once(t, "building the site", func() error {
		dir := filepath.Join(sharedDir(t), "site")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := buildSite(ctx, dir); err != nil {
			return err
		}
		t.Logf("built the site in %v", time.Since(start).Round(time.Millisecond))
		var err error
		shared.siteDir = dir
		shared.site, err = serveDir(dir)
		return err
	})
	return shared.site
}

// serveDir serves dir on 127.0.0.1 until the tests end; the caller holds
// shared.mu.
func serveDir(dir string) (string, error) {
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	shared.servers = append(shared.servers, srv)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		return "", fmt.Errorf("the test server is not on loopback: %s", srv.URL)
	}
	return srv.URL, nil
}

// vaultdbBinary builds the vaultdb command once and returns its path.
func vaultdbBinary(t *testing.T) string {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	once(t, "building the vaultdb binary", func() error {
		bin := filepath.Join(sharedDir(t), "vaultdb")
		out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		shared.binary = bin
		return nil
	})
	return shared.binary
}

// driver is test/driver.mjs: one headless Chromium that runs the scripts
// of test/ one at a time.
type driver struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr *bytes.Buffer
}

// browser returns the shared browser, starting it on first use, after
// checking every tool the browser tests need (skipping without them, or
// failing when CI is set).
func browser(t *testing.T) *driver {
	t.Helper()
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	needTool(t, exists(chromium), "chromium ("+chromium+")")
	_, err := exec.LookPath("node")
	needTool(t, err == nil, "node")
	needTool(t, exists("test/node_modules/playwright-core"), "web/test/node_modules (make web-deps)")
	shared.mu.Lock()
	defer shared.mu.Unlock()
	once(t, "starting Chromium", func() error {
		d := &driver{stderr: &bytes.Buffer{}}
		d.cmd = exec.Command("node", "driver.mjs")
		d.cmd.Dir = "test"
		d.cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
		d.cmd.Stderr = d.stderr
		if d.stdin, err = d.cmd.StdinPipe(); err != nil {
			return err
		}
		stdout, err := d.cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := d.cmd.Start(); err != nil {
			return err
		}
		d.out = bufio.NewReaderSize(stdout, 1<<20)
		line, err := d.out.ReadString('\n')
		if err != nil || line != "READY\n" {
			d.close()
			return fmt.Errorf("test/driver.mjs did not start (%q, %v); stderr:\n%s", line, err, d.stderr)
		}
		shared.driver = d
		return nil
	})
	return shared.driver
}

// run runs script of test/ in the browser with args and input (which
// carries any secret) and decodes what it returns into res. A result with
// a non-empty "error" fails the test.
func (d *driver) run(t *testing.T, res any, script string, input any, args ...string) {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	req, err := json.Marshal(map[string]any{"script": script, "args": args, "input": input})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := d.stdin.Write(append(req, '\n')); err != nil {
		t.Fatalf("test/driver.mjs: %v; stderr:\n%s", err, d.stderr)
	}
	var line string
	for {
		l, err := d.out.ReadString('\n')
		if err != nil {
			t.Fatalf("test/driver.mjs stopped while running %s: %v; stderr:\n%s", script, err, d.stderr)
		}
		if r, ok := strings.CutPrefix(l, "RESULT "); ok {
			line = r
			break
		}
		t.Logf("%s: %s", script, strings.TrimSpace(l))
	}
	t.Logf("%s took %v", script, time.Since(start).Round(time.Millisecond))
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatalf("%s returned no JSON: %v\n%s", script, err, line)
	}
	if e.Error != "" {
		t.Fatalf("%s failed:\n%s", script, e.Error)
	}
	if err := json.Unmarshal([]byte(line), res); err != nil {
		t.Fatalf("%s returned %s: %v", script, line, err)
	}
}

func (d *driver) close() {
	d.stdin.Close() // the driver closes the browser and exits at the end of its input
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
}

var errNoWasmExec = errors.New("wasm_exec.js is in neither $GOROOT/lib/wasm nor $GOROOT/misc/wasm")
