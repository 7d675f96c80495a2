package remotestorage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/adapters/trace"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
	"github.com/vaultdb/vaultdb/adapters/retry"
)

var ctx = context.Background()

const secretToken = "s3cret-token-value"

// fixed answers every request with status and headers, and records the
// requests.
type fixed struct {
	mu      sync.Mutex
	reqs    []*http.Request
	status  int
	headers map[string]string
	body    string
}

func (f *fixed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	for k, v := range f.headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(f.status)
	io.WriteString(w, f.body)
}

// newOn returns an adapter on a server running h, in the stack with a
// retry layer of two attempts without pauses (the command line's and the
// page's composition; the adapter itself makes one attempt per call).
func newOn(t *testing.T, h http.Handler, rtweak func(*retry.Options)) adapters.Adapter {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a, err := remotestorage.New(remotestorage.Options{Root: srv.URL + "/storage/alice/vaultdb", Token: secretToken, AtomicReads: true})
	if err != nil {
		t.Fatal(err)
	}
	ropts := retry.Options{MaxAttempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }}
	if rtweak != nil {
		rtweak(&ropts)
	}
	return stack.Build(a, stack.Options{Retry: &ropts})
}

func TestStatusMapping(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
	}{
		{401, adapters.ErrUnauthorized},
		{403, adapters.ErrUnauthorized},
		{429, adapters.ErrTransient},
		{500, adapters.ErrTransient},
		{503, adapters.ErrTransient},
		{412, adapters.ErrConflict}, // writes only
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := &fixed{status: tc.status, headers: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token ` + secretToken + `"`}}
			a := newOn(t, f, nil)
			_, err := a.Write(ctx, "config", []byte("x"), adapters.NoRev)
			if !errors.Is(err, tc.want) {
				t.Fatalf("write answered %d: err = %v, want %v", tc.status, err, tc.want)
			}
			if strings.Contains(err.Error(), "vaultdb login") {
				t.Errorf("adapter error carries a command-line hint: %v", err)
			}
			if tc.status != 412 {
				_, _, err := a.Read(ctx, "config")
				if !errors.Is(err, tc.want) {
					t.Fatalf("read answered %d: err = %v, want %v", tc.status, err, tc.want)
				}
			}
			for _, r := range f.reqs {
				if got := r.Header.Get("Authorization"); got != "Bearer "+secretToken {
					t.Errorf("Authorization = %q", got)
				}
			}
		})
	}
}

func TestRequests(t *testing.T) {
	f := &fixed{status: 201, headers: map[string]string{"ETag": `"1700000000001"`}}
	a := newOn(t, f, nil)
	rev, err := a.Write(ctx, "shard-0000", []byte("data"), adapters.NoRev)
	if err != nil || rev != `"1700000000001"` {
		t.Fatalf("create: rev %q, err %v", rev, err)
	}
	f.headers["ETag"] = `"1700000000002"`
	if _, err := a.Write(ctx, "shard-0000", []byte("data2"), rev); err != nil {
		t.Fatal(err)
	}
	f.status = 200
	if _, _, err := a.Read(ctx, "shard-0000"); err != nil {
		t.Fatal(err)
	}
	create, update, get := f.reqs[0], f.reqs[1], f.reqs[2]
	for _, c := range []struct{ what, got, want string }{
		{"create method", create.Method, "PUT"},
		{"create path", create.URL.Path, "/storage/alice/vaultdb/shard-0000"},
		{"create If-None-Match", create.Header.Get("If-None-Match"), "*"},
		{"create If-Match", create.Header.Get("If-Match"), ""},
		{"create Content-Type", create.Header.Get("Content-Type"), "text/plain; charset=utf-8"},
		{"update If-Match", update.Header.Get("If-Match"), `"1700000000001"`},
		{"update If-None-Match", update.Header.Get("If-None-Match"), ""},
		{"get method", get.Method, "GET"},
		{"get Cache-Control", get.Header.Get("Cache-Control"), "no-cache"},
		{"get If-None-Match", get.Header.Get("If-None-Match"), ""},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	var waits []time.Duration
	f := &fixed{status: 429, headers: map[string]string{"Retry-After": "7"}}
	a := newOn(t, f, func(o *retry.Options) {
		o.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
		o.MaxElapsed = time.Hour
	})
	_, _, err := a.Read(ctx, "config")
	if !errors.Is(err, adapters.ErrTransient) {
		t.Fatalf("err = %v", err)
	}
	if len(f.reqs) != 2 || len(waits) != 1 || waits[0] < 7*time.Second {
		t.Fatalf("%d requests, waits %v; want 2 requests and a wait of at least 7s", len(f.reqs), waits)
	}
}

func TestNetworkErrorIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	a, err := remotestorage.New(remotestorage.Options{Root: url + "/storage/a/vaultdb", Token: "t", AtomicReads: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Read(ctx, "config"); !errors.Is(err, adapters.ErrTransient) {
		t.Fatalf("read from a closed port: %v", err)
	}
}

func TestBlobSizeBound(t *testing.T) {
	a := newOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"1"`)
		w.Header().Set("Content-Length", fmt.Sprint(adapters.MaxBlobSize+1))
		w.WriteHeader(200)
	}), nil)
	_, _, err := a.Read(ctx, "shard-0000")
	if err == nil || !strings.Contains(err.Error(), "larger than the limit") || !strings.Contains(err.Error(), "shard-0000") {
		t.Fatalf("oversized read: %v", err)
	}
	if _, err := a.Write(ctx, "shard-0000", make([]byte, adapters.MaxBlobSize+1), adapters.NoRev); err == nil || errors.Is(err, adapters.ErrTransient) {
		t.Fatalf("oversized write: %v", err)
	}
}

func TestRejectsPlainHTTPElsewhere(t *testing.T) {
	for _, root := range []string{"http://example.com/storage/a/vaultdb", "ftp://127.0.0.1/x", "storage/a"} {
		if _, err := remotestorage.New(remotestorage.Options{Root: root, Token: "t"}); err == nil {
			t.Errorf("New accepted root %q", root)
		}
	}
	for _, root := range []string{"https://example.com/storage/a/vaultdb", "http://127.0.0.1:8000/storage/a/vaultdb", "http://[::1]:80/s/a"} {
		if _, err := remotestorage.New(remotestorage.Options{Root: root, Token: "t"}); err != nil {
			t.Errorf("New refused root %q: %v", root, err)
		}
	}
}

// sameTick is a server whose ETags are the writes' second, like
// armadietto's millisecond ETags within one millisecond: the first update
// of a document gets the ETag of the version it replaces.
type sameTick struct {
	mu   sync.Mutex
	etag int
	puts []string // If-Match of each PUT
	tick atomic.Bool
}

func (s *sameTick) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts = append(s.puts, r.Header.Get("If-Match"))
	if m := r.Header.Get("If-Match"); m != "" && m != fmt.Sprintf(`"%d"`, s.etag) {
		w.WriteHeader(412)
		return
	}
	if !s.tick.Swap(true) || len(s.puts) > 2 {
		s.etag++
	}
	w.Header().Set("ETag", fmt.Sprintf(`"%d"`, s.etag))
	w.WriteHeader(200)
}

func TestSameETagIsRewritten(t *testing.T) {
	s := &sameTick{}
	a := newOn(t, s, nil)
	r1, err := a.Write(ctx, "config", []byte("v1"), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := a.Write(ctx, "config", []byte("v2"), r1)
	if err != nil {
		t.Fatal(err)
	}
	if r2 == r1 {
		t.Fatalf("update returned the replaced version's ETag %s", r2)
	}
	if len(s.puts) != 3 || s.puts[2] != string(r1) {
		t.Fatalf("PUTs with If-Match %q; want a third PUT re-writing under %s", s.puts, r1)
	}
}

func TestParseAccount(t *testing.T) {
	for _, ok := range []string{"alice@example.com", "a.b-c_d@127.0.0.1:8000", "bob@[::1]:9"} {
		if _, err := remotestorage.ParseAccount(ok); err != nil {
			t.Errorf("ParseAccount(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"alice", "@example.com", "alice@", "al ice@example.com", "alice@exa mple.com", "alice@host/path", "a@b:123456"} {
		if _, err := remotestorage.ParseAccount(bad); err == nil {
			t.Errorf("ParseAccount(%q) accepted", bad)
		}
	}
}

func TestDiscover(t *testing.T) {
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/webfinger" || r.URL.Query().Get("resource") != "acct:alice@"+r.Host {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, body.Load().(string))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	acct, err := remotestorage.ParseAccount("alice@" + host)
	if err != nil {
		t.Fatal(err)
	}
	link := func(rel, version string) string {
		return fmt.Sprintf(`{"links":[{"rel":"lrdd","href":"x"},{"rel":%q,"href":"%s/storage/alice","properties":{
			"http://remotestorage.io/spec/version":%q,"http://tools.ietf.org/html/rfc6749#section-4.2":"%s/oauth/alice"}}]}`,
			rel, srv.URL, version, srv.URL)
	}
	for _, tc := range []struct {
		body, wantErr string
	}{
		{link("http://tools.ietf.org/id/draft-dejong-remotestorage", "draft-dejong-remotestorage-10"), ""},
		{link("remotestorage", "draft-dejong-remotestorage-22"), ""},
		{link("remotestorage", "draft-dejong-remotestorage-02"), "needs draft 10 or later"},
		{link("remotestorage", "1.0"), "not a draft-dejong-remotestorage version"},
		{`{"links":[]}`, "no remoteStorage link"},
		{`not json`, "not a JSON resource descriptor"},
		{strings.ReplaceAll(link("remotestorage", "draft-dejong-remotestorage-10"), srv.URL+"/storage", "http://example.com/storage"), "must be https"},
	} {
		body.Store(tc.body)
		ep, err := remotestorage.Discover(ctx, nil, acct)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Discover: %v", err)
		case tc.wantErr == "" && (ep.StorageRoot != srv.URL+"/storage/alice" || ep.AuthURL != srv.URL+"/oauth/alice"):
			t.Errorf("Discover = %+v", ep)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Discover of %.60s: err = %v, want %q", tc.body, err, tc.wantErr)
		}
	}
	if _, err := remotestorage.Discover(ctx, nil, remotestorage.Account{User: "bob", Host: host}); err == nil || !strings.Contains(err.Error(), "no such account") {
		t.Errorf("unknown account: %v", err)
	}
}

// TestDiscoverRealServers checks WebFinger on both servers.
func TestDiscoverRealServers(t *testing.T) {
	for _, k := range rstest.Kinds {
		s := rstest.Get(t, k)
		ep, err := s.Endpoints(ctx, "someone")
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if !strings.HasPrefix(ep.StorageRoot, "http://"+s.Host+"/storage/someone") || ep.AuthURL == "" {
			t.Errorf("%s: endpoints %+v", k, ep)
		}
	}
}

// TestArmadiettoTearsReads shows the defect the torn-read check exists
// for: without it, reads racing writes on armadietto see a missing or
// half-written document. (If a later armadietto no longer tears reads,
// this test fails, and the check may be dropped for it.)
func TestArmadiettoTearsReads(t *testing.T) {
	st := rstest.Get(t, rstest.Armadietto).NewStore(t, "")
	opts := st.Options()
	opts.AtomicReads = true
	a, err := remotestorage.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	valid := map[string]bool{}
	content := func(i int) []byte { return []byte(strings.Repeat(string(rune('a'+i%26)), 20000+i)) }
	rev, err := a.Write(ctx, "shard-0000", content(0), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	valid[string(content(0))] = true
	var torn, reads atomic.Int64
	for i := 1; i <= 200 && torn.Load() == 0; i++ {
		valid[string(content(i))] = true
		done := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					data, _, err := a.Read(ctx, "shard-0000")
					reads.Add(1)
					if errors.Is(err, adapters.ErrNotFound) || err == nil && !valid[string(data)] {
						torn.Add(1)
					}
				}
			})
		}
		rev, err = a.Write(ctx, "shard-0000", content(i), rev)
		close(done)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("without the check: %d torn or missing answers in %d reads", torn.Load(), reads.Load())
	if torn.Load() == 0 {
		t.Fatalf("no torn read in %d reads racing 200 writes: armadietto no longer shows the defect", reads.Load())
	}
}

// TestList: the folder's documents, through the stack's layers too (what
// fsck uses to find shard files the config does not name); an empty or
// missing folder lists nothing.
func TestList(t *testing.T) {
	for _, k := range rstest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			st := rstest.Get(t, k).NewStore(t, "list")
			a, err := remotestorage.New(st.Options())
			if err != nil {
				t.Fatal(err)
			}
			stacked := stack.Build(a, stack.Options{Retry: &retry.Options{}, Trace: func(trace.Event) {}})
			if ids, ok, err := adapters.List(ctx, stacked); err != nil || !ok || len(ids) != 0 {
				t.Fatalf("empty folder: %q, %v, %v", ids, ok, err)
			}
			for _, id := range []string{"config", "shard-0000-7fff", "shard-8000-ffff"} {
				if _, err := a.Write(ctx, id, []byte(id), adapters.NoRev); err != nil {
					t.Fatal(err)
				}
			}
			ids, ok, err := adapters.List(ctx, stacked)
			slices.Sort(ids)
			if err != nil || !ok || !slices.Equal(ids, []string{"config", "shard-0000-7fff", "shard-8000-ffff"}) {
				t.Fatalf("listed %q, %v, %v", ids, ok, err)
			}
		})
	}
}

// TestOneAttempt: the adapter makes one request per call and leaves the
// retries to the retry layer, giving it the server's Retry-After.
func TestOneAttempt(t *testing.T) {
	f := &fixed{status: 503, headers: map[string]string{"Retry-After": "7"}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a, err := remotestorage.New(remotestorage.Options{Root: srv.URL + "/storage/alice/vaultdb", Token: secretToken, AtomicReads: true})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = a.Read(ctx, "config")
	var ra adapters.RetryAfterError
	if !errors.Is(err, adapters.ErrTransient) || !errors.As(err, &ra) || ra.RetryAfter() != 7*time.Second {
		t.Fatalf("err = %v, want a transient error asking to wait 7s", err)
	}
	if _, err := a.Write(ctx, "config", []byte("x"), adapters.NoRev); !errors.Is(err, adapters.ErrTransient) {
		t.Fatalf("write: %v", err)
	}
	if len(f.reqs) != 2 {
		t.Fatalf("%d requests for one read and one write, want 2", len(f.reqs))
	}
}
