package web

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWebCommand: "vaultdb web" of a binary built as "make build" builds
// it (the page built into internal/webui/site and embedded with the tag
// webembed) serves the page on 127.0.0.1, with its headers, and the page
// works from there; a binary built without the page says how to get it.
func TestWebCommand(t *testing.T) {
	b := browser(t)
	plain := exec.Command(vaultdbBinary(t), "web")
	var errOut bytes.Buffer
	plain.Stderr = &errOut
	if err := plain.Run(); err == nil || !strings.Contains(errOut.String(), `"make build"`) {
		t.Errorf("vaultdb web without the page: %v, %q", err, errOut.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "vaultdb")
	// What "make build" does.
	if err := buildSite(ctx, filepath.Join("..", "internal", "webui", "site")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "go", "build", "-tags", "webembed", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags webembed: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "web", "--port", "0")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("vaultdb web after Ctrl-C: %v; stderr: %s", err, errOut.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("vaultdb web did not stop within 20 s of Ctrl-C")
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url := strings.TrimSpace(line)
	if err != nil || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("vaultdb web printed %q (%v); stderr: %s", line, err, errOut.String())
	}

	resp, err := http.Get(url + "vaultdb.wasm")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/wasm" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("GET vaultdb.wasm: %d %v", resp.StatusCode, resp.Header)
	}

	var r struct {
		PageErrors []string
		Console    []string
		Entries    []string
	}
	b.run(t, &r, "served.mjs", map[string]string{"passphrase": "served from the binary"}, url, artifactDir(t, "vaultdb-web.png"))
	if len(r.PageErrors) > 0 || len(r.Console) > 0 {
		t.Errorf("errors in the page: %v %v", r.PageErrors, r.Console)
	}
	if !slices.Equal(r.Entries, []string{"/served/entry"}) {
		t.Errorf("after reload and unlock the page served by vaultdb web shows %v", r.Entries)
	}
}
