package web

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBuildBoundaries: the page's wasm (both builds) links no terminal,
// clipboard, command-line or local-directory code, and no net/http (with
// crypto/tls and x509, which would take vaultdb-remote.wasm over issue 16's
// 2 MB gzipped: the adapters send requests through adapters/wire, with
// fetch in a browser), and the command line links no browser code.
func TestBuildBoundaries(t *testing.T) {
	deps := func(env []string, args ...string) []string {
		t.Helper()
		cmd := exec.Command("go", append([]string{"list", "-deps"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	wasm := []string{"GOOS=js", "GOARCH=wasm"}
	for _, tags := range []string{"", "remote"} {
		for _, p := range deps(wasm, "-tags", tags, "./wasm") {
			switch p {
			case "net/http", "crypto/tls", "crypto/x509", "net", "golang.org/x/oauth2":
				t.Errorf("the page's wasm (tags %q) links %s", tags, p)
			}
			for _, bad := range []string{"/internal/cli", "/adapters/localdir", "/internal/location", "golang.org/x/term", "github.com/spf13/cobra", "/internal/webui"} {
				if strings.HasSuffix(p, bad) || strings.Contains(p, bad+"/") || p == bad[1:] {
					t.Errorf("the page's wasm (tags %q) links %s", tags, p)
				}
			}
		}
	}
	for _, p := range deps(nil, "..") {
		for _, bad := range []string{"syscall/js", "/internal/jsutil", "/adapters/indexeddb", "/adapters/localstorage"} {
			if p == bad || strings.HasSuffix(p, bad) {
				t.Errorf("the command line links %s", p)
			}
		}
	}
}
