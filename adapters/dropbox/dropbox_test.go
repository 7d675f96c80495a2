package dropbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/adapters/wire/nethttp"
)

var ctx = context.Background()

// clock is a fake clock whose Sleep advances time at once: no real waits.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

type env struct {
	srv   *dropboxtest.Server
	clock *clock
	// raw is the adapter alone (one attempt per call); a is raw in the
	// stack with a retry layer on the fake clock, as the command line
	// builds it.
	raw     *dropbox.Adapter
	a       adapters.Adapter
	access  string
	refresh string

	mu    sync.Mutex
	saved []*dropbox.Token
}

func (e *env) Saved() []*dropbox.Token {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*dropbox.Token(nil), e.saved...)
}

// newEnv starts a fake and an adapter on it with the store in root.
func newEnv(t *testing.T, root string, mut ...func(*dropbox.Options)) *env {
	t.Helper()
	srv := dropboxtest.NewServer(t)
	return newEnvOn(t, srv, root, mut...)
}

func newEnvOn(t *testing.T, srv *dropboxtest.Server, root string, mut ...func(*dropbox.Options)) *env {
	t.Helper()
	return newEnvRetry(t, srv, root, nil, mut...)
}

// newEnvRetry is newEnvOn with changes to the retry layer's options.
func newEnvRetry(t *testing.T, srv *dropboxtest.Server, root string, rmut func(*retry.Options), mut ...func(*dropbox.Options)) *env {
	t.Helper()
	e := &env{srv: srv, clock: &clock{now: time.Now()}}
	e.access, e.refresh = srv.IssueTokens()
	opts := dropbox.Options{
		Root: root, APIBase: srv.URL, ContentBase: srv.URL, TokenURL: srv.TokenURL(), AppKey: dropboxtest.AppKey,
		Token: &dropbox.Token{AccessToken: e.access, RefreshToken: e.refresh},
		OnToken: func(tok *dropbox.Token) {
			e.mu.Lock()
			e.saved = append(e.saved, tok)
			e.mu.Unlock()
		},
		Now: e.clock.Now,
	}
	for _, m := range mut {
		m(&opts)
	}
	ropts := retry.Options{
		Sleep: e.clock.Sleep, Now: e.clock.Now, Jitter: func(d time.Duration) time.Duration { return d },
		MaxAttempts: 6, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
		RequestTimeout: 5 * time.Second, MaxElapsed: time.Hour,
	}
	if rmut != nil {
		rmut(&ropts)
	}
	a, err := dropbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.raw = a
	e.a = stack.Build(a, stack.Options{Retry: &ropts})
	return e
}

// noSecrets fails if err's text holds a token issued by the fake to e.
func (e *env) noSecrets(t *testing.T, err error, content ...string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	secrets := []string{e.access, e.refresh}
	if tok := e.raw.Token(); tok != nil {
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	}
	for _, s := range append(secrets, content...) {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error text holds a secret or content %q: %s", s, msg)
		}
	}
}

func TestContract(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return newEnv(t, "/Vault Ü/Schlüssel 🔑").a
	})
}

// The adapter alone, without the stack's retries, meets the contract too.
func TestContractNoRetry(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return newEnv(t, "/vaultdb").raw
	})
}

func TestNew(t *testing.T) {
	for _, o := range []dropbox.Options{
		{Root: "/x"},                          // no token
		{Root: "/x", Token: &dropbox.Token{}}, // empty token
		{Root: "x", Token: &dropbox.Token{RefreshToken: "r"}},     // relative
		{Root: "/a//b", Token: &dropbox.Token{RefreshToken: "r"}}, // empty part
		{Root: "/a/../b", Token: &dropbox.Token{RefreshToken: "r"}},
		// Names Dropbox refuses, caught before any request.
		{Root: `/a\b`, Token: &dropbox.Token{RefreshToken: "r"}},
		{Root: "/vault /x", Token: &dropbox.Token{RefreshToken: "r"}},
		{Root: "/vault.", Token: &dropbox.Token{RefreshToken: "r"}},
		{Root: "/" + strings.Repeat("é", 128), Token: &dropbox.Token{RefreshToken: "r"}}, // 256 bytes
	} {
		if _, err := dropbox.New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	if _, err := dropbox.New(dropbox.Options{Root: "/" + strings.Repeat("é", 127) + "x", Token: &dropbox.Token{RefreshToken: "r"}}); err != nil {
		t.Errorf("a name of 255 bytes: %v", err)
	}
	a, err := dropbox.New(dropbox.Options{Root: "/VaultDB/", Token: &dropbox.Token{RefreshToken: "r"}})
	if err != nil || a.Path("config") != "/VaultDB/config" {
		t.Fatalf("New: %v, path %q", err, a.Path("config"))
	}
	a, _ = dropbox.New(dropbox.Options{Root: "/", Token: &dropbox.Token{RefreshToken: "r"}})
	if a.Path("config") != "/config" {
		t.Fatalf("top folder path %q", a.Path("config"))
	}
}

func TestHeaderJSON(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/plain", `{"path":"/plain"}`},
		{"/ü", `{"path":"/\u00fc"}`},
		{"/a\x7fb", `{"path":"/a\u007fb"}`},
		{"/€", `{"path":"/\u20ac"}`},
		{"/😀", `{"path":"/\ud83d\ude00"}`},
		{"/𝄞x", `{"path":"/\ud834\udd1ex"}`},
		{"/tab\there\"q", `{"path":"/tab\there\"q"}`},
	} {
		got, err := dropbox.HeaderJSON(map[string]string{"path": tt.in})
		if err != nil || got != tt.want {
			t.Errorf("HeaderJSON(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		for i := 0; i < len(got); i++ {
			if got[i] >= 0x7F || got[i] < 0x20 {
				t.Errorf("HeaderJSON(%q) has byte %#x", tt.in, got[i])
			}
		}
		var back map[string]string
		if err := json.Unmarshal([]byte(got), &back); err != nil || back["path"] != tt.in {
			t.Errorf("HeaderJSON(%q) decodes to %q, %v", tt.in, back["path"], err)
		}
	}
}

func TestNonASCIIPathsEndToEnd(t *testing.T) {
	root := "/Tresor Ä/日本/𝄞😀"
	e := newEnv(t, root)
	rev, err := e.a.Write(ctx, "config", []byte("c"), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	data, rev2, err := e.a.Read(ctx, "config")
	if err != nil || string(data) != "c" || rev2 != rev {
		t.Fatalf("Read = %q %q %v", data, rev2, err)
	}
	if _, _, display, ok := e.srv.File(root + "/config"); !ok || display != root+"/config" {
		t.Fatalf("stored as %q (%v)", display, ok)
	}
	if n := e.srv.Stats().NonASCIIHeader; n != 0 {
		t.Fatalf("%d requests sent raw non-ASCII headers", n)
	}
}

func TestCaseInsensitivePaths(t *testing.T) {
	e := newEnv(t, "/VaultDB")
	rev, err := e.a.Write(ctx, "config", []byte("c"), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	other := newEnvOn(t, e.srv, "/vaultdb")
	if _, r, err := other.a.Read(ctx, "config"); err != nil || r != rev {
		t.Fatalf("read through other case: %q %v", r, err)
	}
	if _, err := other.a.Write(ctx, "config", []byte("x"), adapters.NoRev); !errors.Is(err, adapters.ErrConflict) {
		t.Fatalf("create through other case: %v, want conflict", err)
	}
	if _, _, display, _ := e.srv.File("/VAULTDB/CONFIG"); display != "/VaultDB/config" {
		t.Fatalf("display path %q", display)
	}
}

// rawUpload sends an upload with the given argument, bypassing the adapter.
func rawUpload(t *testing.T, e *env, arg string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/2/files/upload", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.access)
	req.Header.Set("Dropbox-API-Arg", arg)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// TestStrictConflict shows why the adapter sets strict_conflict: without it
// a stale rev with identical bytes, or an add of identical bytes, succeeds.
func TestStrictConflict(t *testing.T) {
	e := newEnv(t, "/v")
	r1, _ := e.a.Write(ctx, "a", []byte("one"), adapters.NoRev)
	r2, err := e.a.Write(ctx, "a", []byte("two"), r1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Write(ctx, "a", []byte("two"), r1); !errors.Is(err, adapters.ErrConflict) {
		t.Fatalf("stale rev with identical bytes: %v, want conflict", err)
	}
	if _, err := e.a.Write(ctx, "a", []byte("two"), adapters.NoRev); !errors.Is(err, adapters.ErrConflict) {
		t.Fatalf("add of identical bytes: %v, want conflict", err)
	}
	lax := fmt.Sprintf(`{"path":"/v/a","mode":{".tag":"update","update":%q},"autorename":false,"mute":true,"strict_conflict":false}`, r1)
	if code, body := rawUpload(t, e, lax, []byte("two")); code != 200 || !strings.Contains(body, string(r2)) {
		t.Fatalf("non-strict stale update of identical bytes: %d %s; want 200 with the current rev", code, body)
	}
	if code, _ := rawUpload(t, e, `{"path":"/v/a","mode":"add","autorename":false,"mute":true}`, []byte("two")); code != 200 {
		t.Fatalf("non-strict add of identical bytes: %d; want 200", code)
	}
	e.srv.Delete("/v/a")
	if code, _ := rawUpload(t, e, lax, []byte("three")); code != 200 {
		t.Fatalf("non-strict update of a deleted file: %d; want 200 (re-created)", code)
	}
	e.srv.Delete("/v/a")
	if _, err := e.a.Write(ctx, "a", []byte("x"), r2); !errors.Is(err, adapters.ErrConflict) {
		t.Fatalf("strict update of a deleted file: %v, want conflict", err)
	}
	// A raw non-ASCII header is refused, as Dropbox does.
	if code, body := rawUpload(t, e, `{"path":"/v/ü","mode":"add"}`, nil); code != 400 || !strings.Contains(body, "could not decode input as JSON") {
		t.Fatalf("raw UTF-8 header: %d %s", code, body)
	}
}

func TestFolderInTheWay(t *testing.T) {
	e := newEnv(t, "/v")
	e.srv.Put("/v/config/inner", []byte("x"))
	_, _, err := e.a.Read(ctx, "config")
	if err == nil || errors.Is(err, adapters.ErrNotFound) || errors.Is(err, adapters.ErrTransient) || !strings.Contains(err.Error(), "folder") {
		t.Fatalf("read of a folder: %v", err)
	}
	_, err = e.a.Write(ctx, "config", []byte("c"), adapters.NoRev)
	if err == nil || errors.Is(err, adapters.ErrConflict) || !strings.Contains(err.Error(), "in the way") {
		t.Fatalf("write over a folder: %v", err)
	}
}

func kindOf(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{{adapters.ErrNotFound, "notfound"}, {adapters.ErrConflict, "conflict"}, {adapters.ErrTransient, "transient"}, {adapters.ErrUnauthorized, "unauthorized"}} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	if err == nil {
		return "ok"
	}
	return "permanent"
}

func TestFailureMapping(t *testing.T) {
	tests := []struct {
		name     string
		faults   []dropboxtest.Fault
		write    bool
		want     string // kind
		msg      string // in the error text
		minWait  time.Duration
		attempts int // requests to the endpoint
	}{
		{name: "not found", want: "notfound", attempts: 1},
		{name: "insufficient space", write: true, faults: []dropboxtest.Fault{dropboxtest.UploadError("insufficient_space")},
			want: "permanent", msg: "free up space", attempts: 1},
		{name: "no write permission", write: true, faults: []dropboxtest.Fault{dropboxtest.UploadError("no_write_permission")},
			want: "unauthorized", msg: "may not write", attempts: 1},
		{name: "malformed path", write: true, faults: []dropboxtest.Fault{dropboxtest.UploadError("malformed_path")},
			want: "permanent", msg: "choose another --store", attempts: 1},
		{name: "download restricted", faults: []dropboxtest.Fault{dropboxtest.DownloadError("restricted_content")},
			want: "permanent", msg: "restricts", attempts: 1},
		{name: "invalid token", faults: []dropboxtest.Fault{dropboxtest.AuthError(dropboxtest.Download, "invalid_access_token")},
			want: "unauthorized", msg: "no longer accepts", attempts: 1},
		{name: "missing scope", write: true, faults: []dropboxtest.Fault{dropboxtest.AuthError(dropboxtest.Upload, "missing_scope")},
			want: "unauthorized", msg: "App Console", attempts: 1},
		{name: "forbidden", faults: []dropboxtest.Fault{{Kind: dropboxtest.Raw, Status: 403, ContentType: "application/json",
			Body: `{"error_summary":"no_permission/..","error":{".tag":"no_permission"}}`}},
			want: "unauthorized", msg: "denied", attempts: 1},
		{name: "bad request", faults: []dropboxtest.Fault{{Kind: dropboxtest.Raw, Status: 400, Body: "Error in call to API function: bad\nsecond line"}},
			want: "permanent", msg: "check the app key and the store folder", attempts: 1},
		{name: "encryption not supported", write: true, faults: []dropboxtest.Fault{{Kind: dropboxtest.Raw, Status: 409, ContentType: "application/json",
			Body: `{"error_summary":"encryption_not_supported/..","error":{".tag":"encryption_not_supported"}}`}},
			want: "permanent", msg: "requires encryption", attempts: 1},
		{name: "locked download", faults: []dropboxtest.Fault{dropboxtest.DownloadError("locked")},
			want: "ok", msg: "", minWait: 60 * time.Second, attempts: 2},
		{name: "too many write operations", write: true,
			faults: []dropboxtest.Fault{{Kind: dropboxtest.TooManyWriteOps}, {Kind: dropboxtest.TooManyWriteOps}},
			want:   "ok", attempts: 3},
		{name: "429 JSON", faults: []dropboxtest.Fault{{Kind: dropboxtest.RateLimitJSON, RetryAfter: 7}},
			want: "notfound", minWait: 7 * time.Second, attempts: 2},
		{name: "429 text", write: true, faults: []dropboxtest.Fault{{Kind: dropboxtest.RateLimitText, RetryAfter: 3}},
			want: "ok", minWait: 3 * time.Second, attempts: 2},
		{name: "503", faults: []dropboxtest.Fault{{Kind: dropboxtest.Unavailable, RetryAfter: 2}},
			want: "notfound", minWait: 2 * time.Second, attempts: 2},
		{name: "500 until giving up", faults: []dropboxtest.Fault{{Kind: dropboxtest.ServerError}, {Kind: dropboxtest.ServerError},
			{Kind: dropboxtest.ServerError}, {Kind: dropboxtest.ServerError}, {Kind: dropboxtest.ServerError}, {Kind: dropboxtest.ServerError}},
			want: "transient", msg: "gave up after 6 attempts", attempts: 6},
		{name: "429 beyond the overall limit", faults: []dropboxtest.Fault{{Kind: dropboxtest.RateLimitJSON, RetryAfter: 7200}},
			want: "transient", msg: "rate-limiting", attempts: 1},
		{name: "dropped download", faults: []dropboxtest.Fault{{Kind: dropboxtest.Drop}},
			want: "ok", attempts: 2},
		{name: "content hash mismatch", write: true, faults: []dropboxtest.Fault{{Kind: dropboxtest.Raw, Status: 409, ContentType: "application/json",
			Body: `{"error_summary":"content_hash_mismatch/..","error":{".tag":"content_hash_mismatch"}}`}},
			want: "ok", attempts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "/v")
			content := []byte("secret shard content 123")
			endpoint := dropboxtest.Download
			if tt.write {
				endpoint = dropboxtest.Upload
			} else if tt.want != "notfound" {
				e.srv.Put("/v/blob", content)
			}
			e.srv.Inject(tt.faults...)
			var err error
			if tt.write {
				_, err = e.a.Write(ctx, "blob", content, adapters.NoRev)
			} else {
				var data []byte
				data, _, err = e.a.Read(ctx, "blob")
				if err == nil && !bytes.Equal(data, content) {
					t.Fatalf("read %q", data)
				}
			}
			if got := kindOf(err); got != tt.want {
				t.Fatalf("error %v: kind %s, want %s", err, got, tt.want)
			}
			if tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)) {
				t.Errorf("error %v does not say %q", err, tt.msg)
			}
			e.noSecrets(t, err, string(content))
			if n := e.srv.Stats().Requests[endpoint]; n != tt.attempts {
				t.Errorf("%d requests, want %d", n, tt.attempts)
			}
			var total time.Duration
			for _, w := range e.clock.Waits() {
				total += w
			}
			if total < tt.minWait {
				t.Errorf("waited %v, want at least %v", e.clock.Waits(), tt.minWait)
			}
			if e.srv.PendingFaults() != 0 {
				t.Errorf("%d faults did not fire", e.srv.PendingFaults())
			}
		})
	}
}

// A download Dropbox reports larger than adapters.MaxBlobSize is refused
// before its body is read, permanently.
func TestDownloadTooLarge(t *testing.T) {
	e := newEnv(t, "/v")
	md := fmt.Sprintf(`{"name":"blob","rev":"0123456789a","size":%d}`, adapters.MaxBlobSize+1)
	e.srv.Inject(dropboxtest.Fault{Endpoint: dropboxtest.Download, Kind: dropboxtest.Raw, Status: 200,
		ContentType: "application/octet-stream", Header: map[string]string{"Dropbox-API-Result": md}, Body: "small"})
	_, _, err := e.a.Read(ctx, "blob")
	if !errors.Is(err, adapters.ErrBlobTooLarge) || kindOf(err) != "permanent" {
		t.Fatalf("read of a blob over the limit: %v", err)
	}
	if n := e.srv.Stats().Requests[dropboxtest.Download]; n != 1 {
		t.Errorf("%d downloads, want 1 (no retry)", n)
	}
}

// A 400 that echoes the Authorization header must not leak the token.
func TestBadRequestRedactsToken(t *testing.T) {
	e := newEnv(t, "/v")
	e.srv.Inject(dropboxtest.Fault{Kind: dropboxtest.Raw, Status: 400,
		Body: fmt.Sprintf(`Error in call to API function "files/download": Invalid authorization value in HTTP header "Authorization": "Bearer %s"`, e.access)})
	_, _, err := e.a.Read(ctx, "blob")
	if kindOf(err) != "permanent" || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("err = %v", err)
	}
	e.noSecrets(t, err)
}

// An upload whose response is cut off did happen; the retry conflicts with
// it. The conflict is the write's own: the blob holds the bytes sent, so the
// write is reported as done, with the rev Dropbox gave it, for an update
// and for a create (init's config).
func TestDroppedUploadResponse(t *testing.T) {
	e := newEnv(t, "/v")
	r1, _ := e.a.Write(ctx, "blob", []byte("v1"), adapters.NoRev)
	e.srv.Inject(dropboxtest.Fault{Endpoint: dropboxtest.Upload, Kind: dropboxtest.Drop})
	r2, err := e.a.Write(ctx, "blob", []byte("v2"), r1)
	data, rev, _, _ := e.srv.File("/v/blob")
	if err != nil || string(data) != "v2" || string(r2) != rev {
		t.Fatalf("update after a dropped response: rev %q, %v; file %q at %q", r2, err, data, rev)
	}
	e.srv.Inject(dropboxtest.Fault{Endpoint: dropboxtest.Upload, Kind: dropboxtest.Drop})
	r3, err := e.a.Write(ctx, "new", []byte("n1"), adapters.NoRev)
	data, rev, _, _ = e.srv.File("/v/new")
	if err != nil || string(data) != "n1" || string(r3) != rev {
		t.Fatalf("create after a dropped response: rev %q, %v; file %q at %q", r3, err, data, rev)
	}
	// A stale rev on the first attempt is a conflict, without a check.
	before := e.srv.Stats().Requests
	_, err = e.a.Write(ctx, "blob", []byte("v3"), r1)
	after := e.srv.Stats().Requests
	if !errors.Is(err, adapters.ErrConflict) || after[dropboxtest.Upload]-before[dropboxtest.Upload] != 1 || after[dropboxtest.Download] != before[dropboxtest.Download] {
		t.Fatalf("stale rev: %v after %v requests (were %v), want one conflicting upload", err, after, before)
	}
}

// TestSlowResponseTimesOut runs in a synctest bubble, with the fake served
// in process, so the per-request timeout is on the bubble's clock: only the
// response held by the Slow fault reaches it, never a request the fake
// answers at once. On the machine's clock a loaded machine could hold an
// ordinary request past a 100 ms timeout too (measured: 141 ms at load
// ~50), which made a third download.
func TestSlowResponseTimesOut(t *testing.T) {
	srv := dropboxtest.NewServer(t) // outside the bubble: it listens on a socket
	const timeout = 100 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		e := newEnvRetry(t, srv, "/v", func(o *retry.Options) { o.RequestTimeout = timeout },
			func(o *dropbox.Options) { o.Doer = nethttp.New(srv.InProcessClient()) })
		e.srv.Put("/v/blob", []byte("x"))
		e.srv.Inject(dropboxtest.Fault{Kind: dropboxtest.Slow, Delay: time.Minute})
		start := time.Now()
		data, _, err := e.a.Read(ctx, "blob")
		if err != nil || string(data) != "x" {
			t.Fatalf("read after a slow response: %q %v", data, err)
		}
		// The slow attempt was given up at its timeout; the retry's wait is
		// on the env's fake clock, and the second attempt takes no time.
		if d := time.Since(start); d != timeout {
			t.Fatalf("took %v, want one request timeout (%v)", d, timeout)
		}
		if n := e.srv.Stats().Requests[dropboxtest.Download]; n != 2 {
			t.Fatalf("%d downloads, want 2", n)
		}

		// Always slow: a transient error after the attempts.
		for range 6 {
			e.srv.Inject(dropboxtest.Fault{Kind: dropboxtest.Slow, Delay: time.Minute})
		}
		_, _, err = e.a.Read(ctx, "blob")
		if !errors.Is(err, adapters.ErrTransient) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("always slow: %v", err)
		}
		if n := e.srv.Stats().Requests[dropboxtest.Download]; n != 2+6 {
			t.Fatalf("%d downloads, want 2 + 6 attempts", n)
		}
	})
}

func TestNetworkError(t *testing.T) {
	e := newEnv(t, "/v")
	e.srv.Close()
	_, _, err := e.a.Read(ctx, "blob")
	if !errors.Is(err, adapters.ErrTransient) || !strings.Contains(err.Error(), "network") {
		t.Fatalf("err = %v", err)
	}
	if n := len(e.clock.Waits()); n != 5 {
		t.Fatalf("%d waits, want 5", n)
	}
	e.noSecrets(t, err)
}

func TestCancelledDuringRetries(t *testing.T) {
	e := newEnv(t, "/v")
	c, cancel := context.WithCancel(ctx)
	e.srv.Inject(dropboxtest.Fault{Kind: dropboxtest.ServerError})
	cancel()
	if _, _, err := e.a.Read(c, "blob"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestInvalidBlobID(t *testing.T) {
	e := newEnv(t, "/v")
	for _, id := range []string{"", "../x", "A", "a/b", ".x"} {
		if _, _, err := e.a.Read(ctx, id); err == nil || errors.Is(err, adapters.ErrNotFound) {
			t.Errorf("Read(%q): %v", id, err)
		}
	}
	if n := e.srv.Stats().Requests[dropboxtest.Download]; n != 0 {
		t.Fatalf("%d requests for invalid ids", n)
	}
}

func TestExpiredTokenRefreshedOnce(t *testing.T) {
	e := newEnv(t, "/v")
	e.srv.Put("/v/blob", []byte("x"))
	e.srv.ExpireAccessTokens()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, _, err := e.a.Read(ctx, "blob"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := e.srv.Stats().Refreshes; n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	saved := e.Saved()
	if len(saved) != 1 || saved[0].RefreshToken != e.refresh || saved[0].AccessToken == e.access || saved[0].AccessToken == "" {
		t.Fatalf("OnToken got %+v", saved)
	}
	if tok := e.raw.Token(); tok.AccessToken != saved[0].AccessToken {
		t.Fatal("Token() is not the refreshed token")
	}
}

func TestExpiredAgainAfterRefresh(t *testing.T) {
	e := newEnv(t, "/v")
	e.srv.Inject(dropboxtest.Fault{Kind: dropboxtest.ExpireToken}, dropboxtest.Fault{Endpoint: dropboxtest.Download, Kind: dropboxtest.ExpireToken})
	_, _, err := e.a.Read(ctx, "blob")
	if !errors.Is(err, adapters.ErrUnauthorized) || !strings.Contains(err.Error(), "even after refreshing") {
		t.Fatalf("err = %v", err)
	}
	if n := e.srv.Stats().Refreshes; n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	e.noSecrets(t, err)
}

func TestRefreshRefused(t *testing.T) {
	e := newEnv(t, "/v")
	e.srv.ExpireAccessTokens()
	e.srv.RevokeRefreshTokens()
	_, _, err := e.a.Read(ctx, "blob")
	if !errors.Is(err, adapters.ErrUnauthorized) || !strings.Contains(err.Error(), "refused the stored sign-in") {
		t.Fatalf("err = %v", err)
	}
	e.noSecrets(t, err)
	// The refusal is remembered: no more token requests.
	_, err = e.a.Write(ctx, "blob", []byte("x"), adapters.NoRev)
	if !errors.Is(err, adapters.ErrUnauthorized) {
		t.Fatalf("second call: %v", err)
	}
	if st := e.srv.Stats(); st.Refreshes != 1 || st.Requests[dropboxtest.Upload] != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRefreshTransient(t *testing.T) {
	e := newEnv(t, "/v")
	e.srv.Put("/v/blob", []byte("x"))
	e.srv.ExpireAccessTokens()
	e.srv.Inject(dropboxtest.Fault{Endpoint: dropboxtest.Token, Kind: dropboxtest.ServerError})
	if _, _, err := e.a.Read(ctx, "blob"); err != nil {
		t.Fatalf("read after a failed refresh: %v", err)
	}
	// The 500 is answered before the token endpoint sees the request; the
	// retry refreshes.
	if st := e.srv.Stats(); st.Requests[dropboxtest.Token] != 2 || st.Refreshes != 1 {
		t.Fatalf("token requests %d, refreshes %d; want 2 and 1", st.Requests[dropboxtest.Token], st.Refreshes)
	}
}

func TestProactiveRefreshAndRefreshOnly(t *testing.T) {
	e := newEnv(t, "/v", func(o *dropbox.Options) {
		o.Token.AccessToken = ""
	})
	e.srv.Put("/v/blob", []byte("x"))
	if _, _, err := e.a.Read(ctx, "blob"); err != nil {
		t.Fatal(err)
	}
	// The access token's known expiry passes: refreshed before use.
	e.clock.Sleep(ctx, 5*time.Hour)
	if _, _, err := e.a.Read(ctx, "blob"); err != nil {
		t.Fatal(err)
	}
	st := e.srv.Stats()
	if st.Refreshes != 2 || st.Requests[dropboxtest.Download] != 2 {
		t.Fatalf("stats %+v, want 2 refreshes and 2 downloads", st)
	}
}

func TestWrongAppKey(t *testing.T) {
	e := newEnv(t, "/v", func(o *dropbox.Options) { o.AppKey = ""; o.Token.AccessToken = "" })
	_, _, err := e.a.Read(ctx, "blob")
	if !errors.Is(err, adapters.ErrUnauthorized) || !strings.Contains(err.Error(), "app key") {
		t.Fatalf("err = %v", err)
	}
	e.noSecrets(t, err)
}

func TestAccessTokenOnlyExpires(t *testing.T) {
	e := newEnv(t, "/v", func(o *dropbox.Options) { o.Token.RefreshToken = "" })
	e.srv.ExpireAccessTokens()
	_, _, err := e.a.Read(ctx, "blob")
	if !errors.Is(err, adapters.ErrUnauthorized) || !strings.Contains(err.Error(), "no refresh token") {
		t.Fatalf("err = %v", err)
	}
}

// Reads of several blobs run in parallel over a pool of reused connections.
func TestParallelReads(t *testing.T) {
	e := newEnv(t, "/v")
	const n = 8
	for i := range n {
		e.srv.Put(fmt.Sprintf("/v/shard-%d", i), []byte{byte(i)})
	}
	// Each download of the first round is held until all n are in flight:
	// reads made one after another would never get there (the gate gives
	// up after 10 s, and the count below fails).
	for range n {
		e.srv.Inject(dropboxtest.Fault{Endpoint: dropboxtest.Download, Kind: dropboxtest.Gate, Count: n})
	}
	read := func() {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if _, _, err := e.a.Read(ctx, fmt.Sprintf("shard-%d", i)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	read()
	read()
	st := e.srv.Stats()
	if st.MaxDownloads != n {
		t.Errorf("at most %d downloads in flight, want %d", st.MaxDownloads, n)
	}
	if st.Connections > n {
		t.Errorf("%d connections for two rounds of %d reads: not reused", st.Connections, n)
	}
}

// TestList: files/list_folder and its continuations name the store folder's
// files (not its subfolders), through the stack's layers; a folder that
// does not exist lists nothing; an expired access token is refreshed.
func TestList(t *testing.T) {
	e := newEnv(t, "/Apps/vaultdb")
	if ids, ok, err := adapters.List(ctx, e.a); err != nil || !ok || len(ids) != 0 {
		t.Fatalf("missing folder: %q, %v, %v", ids, ok, err)
	}
	want := []string{"config", "shard-0000-3fff", "shard-4000-7fff", "shard-8000-bfff", "shard-c000-ffff", "shard-0000-ffff", "shard-0000-7fff"}
	for _, id := range want {
		if _, err := e.a.Write(ctx, id, []byte(id), adapters.NoRev); err != nil {
			t.Fatal(err)
		}
	}
	e.srv.Put("/Apps/vaultdb/old/shard-0000-ffff", []byte("x")) // a subfolder
	e.srv.Put("/Apps/other/config", []byte("x"))                // another folder
	e.srv.ExpireAccessTokens()
	ids, ok, err := adapters.List(ctx, e.a)
	slices.Sort(ids)
	slices.Sort(want)
	if err != nil || !ok || !slices.Equal(ids, want) {
		t.Fatalf("listed %q, %v, %v; want %q", ids, ok, err, want)
	}
	if got := e.srv.Stats().Requests[dropboxtest.ListMore]; got != 2 {
		t.Errorf("%d continuations for 8 entries in pages of %d, want 2", got, dropboxtest.ListPage)
	}
}
