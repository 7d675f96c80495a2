package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
	"github.com/vaultdb/vaultdb/vault/format"
)

// needTool skips when a browser-test prerequisite is missing, and fails
// when CI is set (.ci/run installs them all).
func needTool(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	msg := what + " is missing; run .ci/run's install steps (apt-get install chromium; make web-deps)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// buildSite builds what "make web" builds into dir: the wasm files, Go's
// wasm_exec.js and the page.
func buildSite(ctx context.Context, dir string) error {
	for wasm, tags := range map[string]string{"vaultdb.wasm": "", "vaultdb-remote.wasm": "remote"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", tags, "-o", filepath.Join(dir, wasm), "./wasm")
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", wasm, err, out)
		}
	}
	root, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %v", err)
	}
	var files []string
	for _, sub := range []string{"lib/wasm", "misc/wasm"} {
		if p := filepath.Join(strings.TrimSpace(string(root)), sub, "wasm_exec.js"); exists(p) {
			files = append(files, p)
			break
		}
	}
	if len(files) == 0 {
		return errNoWasmExec
	}
	static, _ := filepath.Glob("static/*")
	for _, f := range append(files, static...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// artifactDir returns web/test/artifacts, without the files of pattern
// an earlier run left.
func artifactDir(t *testing.T, pattern string) string {
	t.Helper()
	artifacts, err := filepath.Abs(filepath.Join("test", "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(artifacts, pattern))
	for _, f := range old {
		os.Remove(f)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	return artifacts
}

// browserResult is what test/browser.mjs prints.
type browserResult struct {
	Steps           []string
	Error           string
	PageErrors      []string
	TotpCode        string
	TotpLeft        string
	TotpExpected    string
	WrongPassphrase string
	UnlockMillis    float64
	Entries         []string
	Searched        []string
	Shown           string
	Copied          string
	AfterClear      string
	Edited          string
	CopiedPassword  string
	OfferedFields   []string
	OfferStatus     string
	// ClipboardWhileOffered is the clipboard after Copy of an object
	// without a password field, before a field is chosen.
	ClipboardWhileOffered string
	CopiedField           string
	TextField             string
	TextObject            string
	NoField               string
	NullRefused           string
	AfterRemove           []string
	Increments            int
	Counter               int
	CounterMillis         int
	IdleStatus            string
	IdleLocked            bool
	Measure               map[string]float64
	Millis                map[string]int
}

// TestBrowser runs the page in headless Chromium: create a store in
// IndexedDB, add entries of each kind, reload and unlock again, search,
// show, copy (and see the clipboard cleared), edit, remove, two tabs
// incrementing one counter, and lock on idle. Screenshots of each step go
// to test/artifacts/.
func TestBrowser(t *testing.T) {
	b := browser(t)
	url := serveSite(t)
	artifacts := artifactDir(t, "[0-9]*.png")
	var r browserResult
	b.run(t, &r, "browser.mjs", map[string]any{"measure": os.Getenv("VAULTDB_MEASURE") != ""}, url, artifacts)
	if len(r.PageErrors) > 0 {
		t.Errorf("uncaught errors in the page: %v", r.PageErrors)
	}

	if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(r.TotpCode) || r.TotpCode != r.TotpExpected {
		// The page may show the code of the previous second: allow a
		// period boundary only by comparing against the engine's answer.
		t.Errorf("TOTP code shown %q, engine says %q", r.TotpCode, r.TotpExpected)
	}
	if !regexp.MustCompile(`^[0-9]+ s left$`).MatchString(r.TotpLeft) {
		t.Errorf("seconds left shown as %q", r.TotpLeft)
	}
	if r.WrongPassphrase != "Wrong passphrase." {
		t.Errorf("a wrong passphrase showed %q", r.WrongPassphrase)
	}
	wantEntries := []string{"/email/work", "/github/password", "/github/totp"}
	if !slices.Equal(r.Entries, wantEntries) {
		t.Errorf("after reload and unlock the tree shows %v, want %v", r.Entries, wantEntries)
	}
	if want := []string{"/github/password", "/github/totp"}; !slices.Equal(r.Searched, want) {
		t.Errorf("searching \"git\" shows %v, want %v", r.Searched, want)
	}
	if r.Shown != "hunter2" || r.Copied != "hunter2" {
		t.Errorf("shown %q and copied %q, want hunter2", r.Shown, r.Copied)
	}
	if r.AfterClear != "" {
		t.Errorf("the clipboard still holds %q after the clear timeout", r.AfterClear)
	}
	if r.Edited != "n3w" {
		t.Errorf("after the edit, email/work's password is %q", r.Edited)
	}
	if r.CopiedPassword != "n3w" {
		t.Errorf("Copy of an object copied %q, want its password field n3w (as vaultdb get -c)", r.CopiedPassword)
	}
	if len(r.OfferedFields) < 2 || r.OfferedFields[0] != "type" || !slices.Contains(r.OfferedFields, "secret") ||
		r.ClipboardWhileOffered != "before" || !strings.Contains(r.OfferStatus, "Copy code") || r.CopiedField != "totp" {
		t.Errorf("Copy of a TOTP entry (no password field): fields offered %q, status %q, clipboard meanwhile %q, then copied %q (want the fields, the clipboard untouched, then \"totp\")",
			r.OfferedFields, r.OfferStatus, r.ClipboardWhileOffered, r.CopiedField)
	}
	if r.TextField != "alice" || r.TextObject != "{\n  \"user\": \"alice\",\n  \"password\": \"n3w\"\n}" || r.NoField != "no-field" {
		t.Errorf("text of a field %q, of the object %q, of a missing field %q", r.TextField, r.TextObject, r.NoField)
	}
	if r.NullRefused != "invalid-value" {
		t.Errorf("set of null: %q, want invalid-value", r.NullRefused)
	}
	if want := []string{"/email/work", "/github/totp"}; !slices.Equal(r.AfterRemove, want) {
		t.Errorf("after removing github/password the store holds %v, want %v", r.AfterRemove, want)
	}
	if r.Increments == 0 || r.Counter != r.Increments {
		t.Errorf("two tabs made %d increments of one counter on IndexedDB; it holds %d (%d lost)", r.Increments, r.Counter, r.Increments-r.Counter)
	}
	t.Logf("two tabs: %d increments in %d ms, %d lost", r.Increments, r.CounterMillis, r.Increments-r.Counter)
	if !r.IdleLocked || !strings.Contains(r.IdleStatus, "without use") {
		t.Errorf("the page did not lock on idle (locked %v, status %q)", r.IdleLocked, r.IdleStatus)
	}
	t.Logf("milliseconds per step: %v", r.Millis)
	if r.Measure != nil {
		// The command line's key derivation, in this process, right after
		// the page's: PBKDF2-SHA256 at the default 600,000 iterations.
		p := format.KDFParams{Salt: make([]byte, 32), Iterations: format.DefaultIterations}
		start := time.Now()
		if _, err := format.PBKDF2(context.Background(), []byte("correct horse battery staple"), p); err != nil {
			t.Fatal(err)
		}
		native := float64(time.Since(start).Microseconds()) / 1000
		t.Logf("kdf at %d iterations: command line (Go, native) %.0f ms; page WebCrypto %.0f ms and %.0f ms (%.2fx the command line); page Go-wasm %.0f ms",
			format.DefaultIterations, native, r.Measure["webcrypto600k"], r.Measure["webcrypto600kAgain"],
			r.Measure["webcrypto600k"]/native, r.Measure["go600k"])
	}
}

// TestBrowserGoTests compiles Go tests of the packages that run in a
// browser for GOOS=js and runs them in headless Chromium: the contract
// suite of the browser adapters (IndexedDB, localStorage, memory), and of
// the remoteStorage and Dropbox adapters over fetch, against armadietto
// and the fake Dropbox on 127.0.0.1, as the page uses them, and the
// page's own (internal/jsfetch's streamed bodies, web/wasm's lock wiping
// the keys).
func TestBrowserGoTests(t *testing.T) {
	b := browser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	url := serveSite(t)
	shared.mu.Lock()
	site := shared.siteDir
	shared.mu.Unlock()

	// The servers the HTTP adapters' suites run against; their tokens go
	// to the page in the request, never in argv or an environment.
	fake := dropboxtest.NewServer(t)
	access, refresh := fake.IssueTokens()
	st := rstest.Get(t, rstest.Armadietto).NewStore(t, "contract")
	config := map[string]any{
		"dropbox":       map[string]string{"url": fake.URL, "accessToken": access, "refreshToken": refresh},
		"remoteStorage": map[string]string{"root": st.Root, "token": st.Token},
	}
	type binary struct{ Name, Pkg, Run string }
	bins := []binary{
		{"indexeddb.test.wasm", "../adapters/indexeddb", ""},
		{"localstorage.test.wasm", "../adapters/localstorage", ""},
		{"memory.test.wasm", "../adapters/memory", ""},
		{"dropbox.test.wasm", "../adapters/dropbox", "^TestBrowserContract$"},
		{"remotestorage.test.wasm", "../adapters/remotestorage", "^TestBrowserContract$"},
		{"jsfetch.test.wasm", "../internal/jsfetch", ""},
		{"page.test.wasm", "./wasm", ""},
	}
	for _, bin := range bins {
		cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", filepath.Join(site, bin.Name), bin.Pkg)
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go test -c %s: %v\n%s", bin.Pkg, err, out)
		}
	}
	var r struct {
		Results []struct {
			Name   string
			Exit   *int
			Output string
		}
	}
	in := map[string]any{"config": config, "binaries": []map[string]string{}}
	for _, bin := range bins {
		in["binaries"] = append(in["binaries"].([]map[string]string), map[string]string{"name": bin.Name, "run": bin.Run})
	}
	b.run(t, &r, "gotest.mjs", in, url)
	if len(r.Results) != len(bins) {
		t.Fatalf("ran %d test binaries, want %d", len(r.Results), len(bins))
	}
	for _, res := range r.Results {
		passed := strings.Count(res.Output, "--- PASS")
		if res.Exit == nil || *res.Exit != 0 || passed == 0 || !strings.Contains(res.Output, "\nPASS") {
			t.Errorf("%s in Chromium failed (exit %v):\n%s", res.Name, res.Exit, res.Output)
			continue
		}
		// wasm_exec.js prints this when JavaScript calls a Go callback
		// after it was released: an event the code forgot it listens to.
		if strings.Contains(res.Output, "call to released function") {
			t.Errorf("%s: a released Go callback was called:\n%s", res.Name, res.Output)
		}
		t.Logf("%s in Chromium: %d tests and subtests passed", res.Name, passed)
	}
}

// TestBrowserLocalStorage: a store in localStorage is open in one tab at
// a time (an exclusive Web Lock held while it is open); a second tab is
// told so, and gets it once the first locks.
func TestBrowserLocalStorage(t *testing.T) {
	b := browser(t)
	var r struct {
		PageErrors    []string
		Where         string
		Remembered    string
		SecondTab     string
		AfterLock     []string
		FirstTabAgain string
		SameTabAgain  string
	}
	b.run(t, &r, "localstorage.mjs", map[string]string{"passphrase": "one tab at a time"}, serveSite(t), artifactDir(t, "localstorage-*.png"))
	if len(r.PageErrors) > 0 {
		t.Errorf("uncaught errors in the page: %v", r.PageErrors)
	}
	if r.Where != "ls:solo" {
		t.Errorf("the first tab opened %q", r.Where)
	}
	if r.SameTabAgain != "unlocked" {
		t.Errorf("unlocking again the store this tab has open: %q, want it unlocked", r.SameTabAgain)
	}
	const elsewhere = "This store is open in another tab or window"
	if !strings.HasPrefix(r.SecondTab, elsewhere) {
		t.Errorf("a second tab unlocking the open store is told %q", r.SecondTab)
	}
	if !slices.Equal(r.AfterLock, []string{"/note"}) {
		t.Errorf("after the first tab locked, the second opened the store with %v", r.AfterLock)
	}
	if !strings.HasPrefix(r.FirstTabAgain, elsewhere) {
		t.Errorf("the first tab, unlocking again while the second has the store, is told %q", r.FirstTabAgain)
	}
}
