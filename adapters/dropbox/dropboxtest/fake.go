// Package dropboxtest is an in-process fake of the parts of the Dropbox API
// vaultdb uses, written from the API documentation, for tests:
//
//   - POST /2/files/download and /2/files/upload (content host), with the
//     argument in the Dropbox-API-Arg header, which must be HTTP-header-safe
//     JSON (only ASCII below 0x7F; anything else is answered 400 like
//     Dropbox's "could not decode input as JSON"), the download result in
//     the Dropbox-API-Result header, write modes add, overwrite and
//     update(rev), strict_conflict, content_hash, and 409 errors in the
//     documented JSON shape (path/not_found, path/not_file,
//     path/conflict/file|folder|file_ancestor, path/malformed_path,
//     content_hash_mismatch);
//   - POST /2/auth/token/revoke;
//   - the OAuth 2 endpoints: GET /oauth2/authorize (stands in for the user
//     allowing access: it answers with the code Dropbox would show, or, with
//     a redirect_uri on this machine, redirects there with the code and
//     state as a web page's sign-in does) and POST /oauth2/token
//     (authorization_code with PKCE S256 and the same redirect_uri,
//     refresh_token), with RFC 6749 error bodies such as invalid_grant;
//   - CORS as Dropbox answers a web page: any origin, a preflight allowing
//     the Authorization, Content-Type and Dropbox-API-Arg headers, and
//     Dropbox-API-Result exposed.
//
// Paths are case-insensitive, as in Dropbox: a file keeps the case it was
// created with (path_display) and is found by any case. Revisions are hex
// strings of at least 9 digits, never reused. Like Dropbox, an upload whose
// bytes equal the current file changes nothing and keeps the rev, and
// without strict_conflict an add of identical content, or an update with a
// stale rev but identical content, succeeds with the current metadata.
//
// Faults are injected with Inject (one-shot, in order) and SetRandomFaults
// (random, seeded): 429 with Retry-After and a JSON or plain-text body, 500,
// 503 with Retry-After, 409 too_many_write_operations, an access token that
// expires, a connection dropped in the middle of the response (after the
// request took effect), a slow response, or any raw response.
//
// SetNamespace turns on a model of how Dropbox behaves when writes overlap:
// every content request takes a round-trip time, and an upload holds the
// namespace's write lock while it is applied. An upload that cannot get the
// lock within a short wait is refused with too_many_write_operations, in
// either of the two forms Dropbox uses: 429 with a RateLimitError body
// (reason too_many_write_operations, retry_after) and a Retry-After header,
// or 409 with the UploadError path/too_many_write_operations. Without it
// (the default) requests are answered at once and never overlap.
package dropboxtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// AppKey is the only app key (client_id) the fake knows.
const AppKey = "fake-app-key"

// Endpoint names used in faults and stats.
const (
	Download = "files/download"
	Upload   = "files/upload"
	Token    = "oauth2/token"
	Revoke   = "auth/token/revoke"
	List     = "files/list_folder"
	ListMore = "files/list_folder/continue"
)

// ListPage is how many entries one answer of files/list_folder holds at
// most (Dropbox decides its own page size; a small one tests paging).
var ListPage = 3

// Kind is a kind of injected fault.
type Kind int

const (
	// RateLimitJSON answers 429 with Retry-After and Dropbox's JSON
	// RateLimitError body (reason too_many_requests, retry_after).
	RateLimitJSON Kind = iota + 1
	// RateLimitText answers 429 with Retry-After and a plain-text body.
	RateLimitText
	// ServerError answers 500 with a plain-text body.
	ServerError
	// Unavailable answers 503 with Retry-After.
	Unavailable
	// TooManyWriteOps answers an upload 409 path/too_many_write_operations.
	TooManyWriteOps
	// ExpireToken makes the access token of the request expire before it is
	// handled, so it is answered 401 expired_access_token (as are later
	// requests with that token).
	ExpireToken
	// Drop handles the request, then sends only the start of the response
	// and closes the connection.
	Drop
	// Slow waits Delay (or until the client gives up) before handling the
	// request; a request whose client gave up is not handled.
	Slow
	// Raw answers with Status, ContentType and Body, unhandled.
	Raw
	// Gate holds the request until Count requests of its endpoint have been
	// in flight at once (then every gated request goes), or Delay passes
	// (10 s if 0): a test of parallel requests that does not depend on
	// timing.
	Gate
)

// Fault is one injected fault.
type Fault struct {
	// Endpoint limits the fault to requests of one endpoint (Download,
	// Upload, Token, Revoke); "" matches any.
	Endpoint string
	Kind     Kind
	// RetryAfter is the Retry-After of RateLimit* and Unavailable, in
	// seconds; 0 means 1.
	RetryAfter int
	Delay      time.Duration // Slow, Gate
	Count      int           // Gate
	// Status, ContentType, Header and Body are the response of Raw.
	Status      int
	ContentType string
	Header      map[string]string
	Body        string

	random bool
}

// minUsesToExpire is how many requests an access token must have
// authorised before a random ExpireToken fault expires it. Real access
// tokens live for hours, so one that was just issued by a refresh does not
// expire before the request that needed the refresh is sent again; without
// this, random faults could expire a token twice in a row.
const minUsesToExpire = 8

// UploadError returns a Raw fault answering an upload with a 409 WriteError
// of the given reason, in the documented shape, such as
// "insufficient_space", "no_write_permission" or "malformed_path".
func UploadError(reason string) Fault {
	return Fault{Endpoint: Upload, Kind: Raw, Status: 409, ContentType: "application/json",
		Body: string(uploadErrorBody(reason, ""))}
}

// DownloadError returns a Raw fault answering a download with a 409
// LookupError of the given reason.
func DownloadError(reason string) Fault {
	return Fault{Endpoint: Download, Kind: Raw, Status: 409, ContentType: "application/json",
		Body: string(downloadErrorBody(reason))}
}

// AuthError returns a Raw fault answering 401 with the AuthError tag, such
// as "invalid_access_token" or "missing_scope".
func AuthError(endpoint, tag string) Fault {
	return Fault{Endpoint: endpoint, Kind: Raw, Status: 401, ContentType: "application/json",
		Body: string(authErrorBody(tag))}
}

// RandomFaults are faults injected at random, each with its probability per
// request of the endpoints it applies to (content endpoints only).
type RandomFaults struct {
	Seed            uint64
	RateLimit       float64 // 429, alternately JSON and plain text
	ServerError     float64 // 500 or 503
	TooManyWriteOps float64 // uploads only
	Drop            float64
	ExpireToken     float64
	RetryAfter      int // seconds for 429/503; 0 means 1
}

// Namespace configures the model of Dropbox's per-namespace write lock (the
// whole fake is one namespace). The zero value turns the model off.
type Namespace struct {
	// Latency is added to every content request (download and upload)
	// before it is handled, outside the lock, like a network round trip.
	Latency time.Duration
	// Hold is how long an upload keeps the write lock while it is applied;
	// 0 means Latency.
	Hold time.Duration
	// LockWait is how long an upload waits for the lock before it is
	// refused; 0 refuses at once when another upload holds it.
	LockWait time.Duration
	// RetryAfter is the retry_after of a refusal, in seconds; 0 means 1.
	RetryAfter int
	// Only409 and Only429 choose one form of the refusal; by default the
	// refusals alternate between the 429 and the 409 form.
	Only409, Only429 bool
}

func (n Namespace) on() bool { return n != Namespace{} }

// Stats counts what the server saw.
type Stats struct {
	Requests       map[string]int // by endpoint
	Refreshes      int            // token requests with grant_type refresh_token
	Faults         int            // faults injected
	Conflicts      int            // uploads answered path/conflict
	MaxDownloads   int            // most downloads in flight at once
	Connections    int            // TCP connections accepted
	NonASCIIHeader int            // requests refused for a raw non-ASCII Dropbox-API-Arg
	// LockRefused429 and LockRefused409 count uploads refused by the
	// namespace model with too_many_write_operations, by form.
	LockRefused429, LockRefused409 int
	MaxUploads                     int // most uploads in flight at once
}

type file struct {
	id       string
	display  string
	data     []byte
	rev      string
	modified time.Time
}

type access struct {
	uses    int // requests it authorised
	refresh string
	expired bool
	revoked bool
}

// Server is the fake. Create it with NewServer; it is closed when the test
// ends.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	files     map[string]*file // by lower-case path
	seq       uint64
	access    map[string]*access
	refresh   map[string]bool // refresh token -> valid
	codes     map[string]string
	redirects map[string]string // code -> the redirect_uri it was issued for
	faults    []Fault
	random    RandomFaults
	rng       *mrand.Rand
	stats     Stats
	downloads int
	gateOpen  bool // a Gate's count was reached
	uploads   int
	ns        Namespace
	nsLock    chan struct{} // the namespace's write lock
	refusals  int
}

// TB is the part of testing.TB the server needs.
type TB interface {
	Helper()
	Cleanup(func())
}

// NewServer starts a fake Dropbox (API, content and OAuth on one host).
func NewServer(t TB) *Server {
	t.Helper()
	s := &Server{files: map[string]*file{}, access: map[string]*access{}, refresh: map[string]bool{},
		codes: map[string]string{}, redirects: map[string]string{}, seq: 0x1a2b3c000, stats: Stats{Requests: map[string]int{}},
		nsLock: make(chan struct{}, 1)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.stats.Connections++
			s.mu.Unlock()
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// InProcessClient returns an http.Client whose requests the fake serves
// in this process, with no socket between them: for tests in a
// testing/synctest bubble (create the Server outside it), where a goroutine
// waiting on a socket would keep the bubble's clock from advancing. There
// a test of a timeout counts events on the bubble's clock instead of
// racing the machine's: a request the fake answers at once takes no time,
// however loaded the machine. A request ends when its context does, which
// the handler sees as the client going away. A Drop fault needs a
// connection to cut and is not supported this way.
func (s *Server) InProcessClient() *http.Client {
	return &http.Client{Transport: inProcess{s.Config.Handler}}
}

type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	sr := r.Clone(r.Context()) // a RoundTripper must not change r
	sr.RequestURI = r.URL.RequestURI()
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	done := make(chan *http.Response, 1)
	go func() {
		rec := httptest.NewRecorder()
		p.h.ServeHTTP(rec, sr)
		done <- rec.Result()
	}()
	select {
	case resp := <-done:
		return resp, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// TokenURL returns the URL of the token endpoint.
func (s *Server) TokenURL() string { return s.URL + "/oauth2/token" }

// AuthURL returns the URL of the authorisation page.
func (s *Server) AuthURL() string { return s.URL + "/oauth2/authorize" }

// IssueTokens returns a new valid access token and its refresh token, as a
// completed login would.
func (s *Server) IssueTokens() (accessToken, refreshToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	refreshToken = "rt-" + randHex(16)
	s.refresh[refreshToken] = true
	return s.newAccessLocked(refreshToken), refreshToken
}

func (s *Server) newAccessLocked(refresh string) string {
	tok := "sl." + randHex(24)
	s.access[tok] = &access{refresh: refresh}
	return tok
}

// ExpireAccessTokens makes every access token issued so far expire.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.access {
		a.expired = true
	}
}

// RevokeRefreshTokens makes every refresh token invalid (invalid_grant).
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rt := range s.refresh {
		s.refresh[rt] = false
	}
}

// Inject queues faults; each fires once, on the first request it matches.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// PendingFaults returns how many injected faults have not fired yet.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// SetRandomFaults sets the random faults; the zero value turns them off.
func (s *Server) SetRandomFaults(r RandomFaults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.random = r
	s.rng = mrand.New(mrand.NewPCG(r.Seed, 0x5eed))
}

// SetNamespace sets the write-lock model; the zero value turns it off.
func (s *Server) SetNamespace(n Namespace) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ns = n
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		st.Requests[k] = v
	}
	return st
}

// Files returns a snapshot of the files' content keyed by lower-case path.
func (s *Server) Files() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string][]byte, len(s.files))
	for k, f := range s.files {
		m[k] = bytes.Clone(f.data)
	}
	return m
}

// File returns the content, rev and displayed path of the file at path (any
// case).
func (s *Server) File(path string) (data []byte, rev, display string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[strings.ToLower(path)]
	if f == nil {
		return nil, "", "", false
	}
	return bytes.Clone(f.data), f.rev, f.display, true
}

// Put stores data at path regardless of its rev, as another Dropbox client
// would, and returns the new rev.
func (s *Server) Put(path string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putLocked(path, data).rev
}

// Delete removes the file at path, if any.
func (s *Server) Delete(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, strings.ToLower(path))
}

func (s *Server) putLocked(path string, data []byte) *file {
	key := strings.ToLower(path)
	f := s.files[key]
	if f != nil && bytes.Equal(f.data, data) {
		return f // Dropbox keeps the rev of unchanged content
	}
	if f == nil {
		f = &file{id: "id:" + randHex(11), display: path}
		s.files[key] = f
	}
	s.seq++
	f.data, f.rev, f.modified = bytes.Clone(data), strconv.FormatUint(s.seq, 16), time.Now().UTC().Truncate(time.Second)
	return f
}

// --- request handling

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	// A web page calls Dropbox from its own origin.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Dropbox-API-Result, Retry-After")
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Dropbox-API-Arg")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	endpoint := ""
	switch r.URL.Path {
	case "/2/files/download":
		endpoint = Download
	case "/2/files/upload":
		endpoint = Upload
	case "/2/auth/token/revoke":
		endpoint = Revoke
	case "/2/files/list_folder":
		endpoint = List
	case "/2/files/list_folder/continue":
		endpoint = ListMore
	case "/oauth2/token":
		endpoint = Token
	case "/oauth2/authorize":
		s.authorize(w, r)
		return
	default:
		http.Error(w, "Unknown API function: "+r.URL.Path, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "Error in call to API function \""+endpoint+"\": Expected POST", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.stats.Requests[endpoint]++
	f, ok := s.pickFaultLocked(endpoint)
	switch endpoint {
	case Download:
		s.downloads++
		s.stats.MaxDownloads = max(s.stats.MaxDownloads, s.downloads)
	case Upload:
		s.uploads++
		s.stats.MaxUploads = max(s.stats.MaxUploads, s.uploads)
	}
	ns := s.ns
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		switch endpoint {
		case Download:
			s.downloads--
		case Upload:
			s.uploads--
		}
		s.mu.Unlock()
	}()
	if ns.Latency > 0 && (endpoint == Download || endpoint == Upload) {
		select {
		case <-time.After(ns.Latency):
		case <-r.Context().Done():
			return
		}
	}

	handle := func(w http.ResponseWriter) {
		switch endpoint {
		case Download:
			s.download(w, r)
		case Upload:
			s.upload(w, r)
		case Revoke:
			s.revoke(w, r)
		case List, ListMore:
			s.list(w, r, endpoint)
		case Token:
			s.token(w, r)
		}
	}
	if !ok {
		handle(w)
		return
	}
	ra := strconv.Itoa(max(f.RetryAfter, 1))
	switch f.Kind {
	case RateLimitJSON:
		w.Header().Set("Retry-After", ra)
		writeJSON(w, 429, map[string]any{"error_summary": "too_many_requests/..",
			"error": map[string]any{"reason": map[string]any{".tag": "too_many_requests"}, "retry_after": max(f.RetryAfter, 1)}})
	case RateLimitText:
		w.Header().Set("Retry-After", ra)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(429)
		io.WriteString(w, "too_many_requests")
	case ServerError:
		http.Error(w, "Internal Server Error", 500)
	case Unavailable:
		w.Header().Set("Retry-After", ra)
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	case TooManyWriteOps:
		writeJSONBytes(w, 409, uploadErrorBody("too_many_write_operations", ""))
	case ExpireToken:
		s.mu.Lock()
		if a := s.access[bearer(r)]; a != nil && (!f.random || a.uses >= minUsesToExpire) {
			a.expired = true
		}
		s.mu.Unlock()
		handle(w)
	case Drop:
		rec := httptest.NewRecorder()
		handle(rec)
		dropResponse(w, rec)
	case Slow:
		select {
		case <-time.After(f.Delay):
			handle(w)
		case <-r.Context().Done():
		}
	case Gate:
		d := f.Delay
		if d == 0 {
			d = 10 * time.Second
		}
		for deadline := time.Now().Add(d); time.Now().Before(deadline) && r.Context().Err() == nil; time.Sleep(time.Millisecond) {
			s.mu.Lock()
			n := s.downloads
			if endpoint == Upload {
				n = s.uploads
			}
			if n >= f.Count {
				s.gateOpen = true
			}
			open := s.gateOpen
			s.mu.Unlock()
			if open {
				break
			}
		}
		handle(w)
	case Raw:
		if f.ContentType != "" {
			w.Header().Set("Content-Type", f.ContentType)
		}
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(f.Status)
		io.WriteString(w, f.Body)
	default:
		handle(w)
	}
}

func (s *Server) pickFaultLocked(endpoint string) (Fault, bool) {
	for i, f := range s.faults {
		if f.Endpoint == "" || f.Endpoint == endpoint {
			s.faults = slices.Delete(s.faults, i, i+1)
			s.stats.Faults++
			return f, true
		}
	}
	if s.rng == nil || (endpoint != Download && endpoint != Upload) {
		return Fault{}, false
	}
	rf := s.random
	x := s.rng.Float64()
	f := Fault{Endpoint: endpoint, RetryAfter: rf.RetryAfter, random: true}
	for _, c := range []struct {
		p float64
		k Kind
	}{
		{rf.RateLimit, RateLimitJSON}, {rf.ServerError, ServerError}, {rf.TooManyWriteOps, TooManyWriteOps},
		{rf.Drop, Drop}, {rf.ExpireToken, ExpireToken},
	} {
		if c.k == TooManyWriteOps && endpoint != Upload {
			continue
		}
		if x < c.p {
			f.Kind = c.k
			if c.k == RateLimitJSON && s.rng.IntN(2) == 0 {
				f.Kind = RateLimitText
			}
			if c.k == ServerError && s.rng.IntN(2) == 0 {
				f.Kind = Unavailable
			}
			s.stats.Faults++
			return f, true
		}
		x -= c.p
	}
	return Fault{}, false
}

// dropResponse writes the status line, headers and half the body of rec,
// then closes the connection.
func dropResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	body := rec.Body.Bytes()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rec.Header().Write(buf)
	buf.WriteString("\r\n")
	buf.Write(body[:len(body)/2])
	buf.Flush()
}

// checkAuth answers an invalid Authorization and returns false.
func (s *Server) checkAuth(w http.ResponseWriter, r *http.Request, endpoint string) bool {
	h := r.Header.Get("Authorization")
	if h == "" {
		badRequest(w, endpoint, `Must provide HTTP header "Authorization" or URL parameter "authorization".`)
		return false
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		// Dropbox echoes the bad value, which is why clients redact.
		badRequest(w, endpoint, fmt.Sprintf(`Invalid authorization value in HTTP header "Authorization": %q. Expecting "Bearer <oauth2-access-token>".`, h))
		return false
	}
	s.mu.Lock()
	a := s.access[tok]
	invalid, expired := a == nil || a.revoked, a != nil && a.expired
	if !invalid && !expired {
		a.uses++
	}
	s.mu.Unlock()
	switch {
	case invalid:
		writeJSONBytes(w, 401, authErrorBody("invalid_access_token"))
		return false
	case expired:
		writeJSONBytes(w, 401, authErrorBody("expired_access_token"))
		return false
	}
	return true
}

func bearer(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok
}

// apiArg decodes the Dropbox-API-Arg header into v, strictly, answering 400
// when that fails.
func (s *Server) apiArg(w http.ResponseWriter, r *http.Request, endpoint string, v any) bool {
	h := r.Header.Get("Dropbox-API-Arg")
	if h == "" {
		badRequest(w, endpoint, `Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".`)
		return false
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x7F {
			s.mu.Lock()
			s.stats.NonASCIIHeader++
			s.mu.Unlock()
			badRequest(w, endpoint, `HTTP header "Dropbox-API-Arg": could not decode input as JSON`)
			return false
		}
	}
	dec := json.NewDecoder(strings.NewReader(h))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		badRequest(w, endpoint, `HTTP header "Dropbox-API-Arg": `+err.Error())
		return false
	}
	return true
}

func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	if !s.checkAuth(w, r, Download) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "text/plain" && ct != "application/octet-stream" {
		badRequest(w, Download, fmt.Sprintf("Bad HTTP \"Content-Type\" header: %q.", ct))
		return
	}
	var arg struct {
		Path string `json:"path"`
		Rev  string `json:"rev,omitempty"`
	}
	if !s.apiArg(w, r, Download, &arg) || !checkPathArg(w, Download, arg.Path) {
		return
	}
	if n, _ := io.Copy(io.Discard, r.Body); n > 0 {
		badRequest(w, Download, "this function takes no request body")
		return
	}
	s.mu.Lock()
	key := strings.ToLower(arg.Path)
	f := s.files[key]
	var md []byte
	var data []byte
	if f != nil {
		md, _ = json.Marshal(s.metadataLocked(f))
		data = bytes.Clone(f.data)
	}
	isFolder := f == nil && s.isFolderLocked(key)
	s.mu.Unlock()
	switch {
	case malformed(arg.Path):
		writeJSONBytes(w, 409, downloadErrorBody("malformed_path"))
	case isFolder:
		writeJSONBytes(w, 409, downloadErrorBody("not_file"))
	case f == nil:
		writeJSONBytes(w, 409, downloadErrorBody("not_found"))
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Dropbox-API-Result", headerSafe(md))
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(200)
		w.Write(data)
	}
}

type writeMode struct {
	Tag    string `json:".tag"`
	Update string `json:"update"`
}

func (m *writeMode) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		m.Tag = s
		return nil
	}
	type plain writeMode
	return json.Unmarshal(b, (*plain)(m))
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if !s.checkAuth(w, r, Upload) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" && ct != "text/plain; charset=dropbox-cors-hack" {
		badRequest(w, Upload, fmt.Sprintf("Bad HTTP \"Content-Type\" header: %q. Expecting one of \"application/octet-stream\", \"text/plain; charset=dropbox-cors-hack\".", ct))
		return
	}
	arg := struct {
		Path           string    `json:"path"`
		Mode           writeMode `json:"mode"`
		Autorename     bool      `json:"autorename"`
		ClientModified string    `json:"client_modified,omitempty"`
		Mute           bool      `json:"mute"`
		StrictConflict bool      `json:"strict_conflict"`
		ContentHash    string    `json:"content_hash,omitempty"`
	}{Mode: writeMode{Tag: "add"}}
	if !s.apiArg(w, r, Upload, &arg) || !checkPathArg(w, Upload, arg.Path) {
		return
	}
	switch arg.Mode.Tag {
	case "add", "overwrite":
	case "update":
		if !revPattern(arg.Mode.Update) {
			badRequest(w, Upload, fmt.Sprintf("HTTP header \"Dropbox-API-Arg\": mode.update: %q did not match pattern '[0-9a-f]+' of length at least 9", arg.Mode.Update))
			return
		}
	default:
		badRequest(w, Upload, fmt.Sprintf("HTTP header \"Dropbox-API-Arg\": mode: unknown tag %q", arg.Mode.Tag))
		return
	}
	if arg.Autorename {
		badRequest(w, Upload, "the fake does not implement autorename")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 150<<20+1))
	if err != nil {
		return // the client went away
	}
	if len(data) > 150<<20 {
		writeJSON(w, 409, map[string]any{"error_summary": "payload_too_large/..", "error": map[string]any{".tag": "payload_too_large"}})
		return
	}
	if arg.ContentHash != "" && arg.ContentHash != contentHash(data) {
		writeJSON(w, 409, map[string]any{"error_summary": "content_hash_mismatch/..", "error": map[string]any{".tag": "content_hash_mismatch"}})
		return
	}
	if malformed(arg.Path) {
		writeJSONBytes(w, 409, uploadErrorBody("malformed_path", ""))
		return
	}
	release, ok := s.writeLock(w, r)
	if !ok {
		return
	}
	defer release()

	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(arg.Path)
	cur := s.files[key]
	conflict := ""
	switch {
	case cur == nil && s.isFolderLocked(key):
		conflict = "folder"
	case cur == nil && s.fileAncestorLocked(key):
		conflict = "file_ancestor"
	case arg.Mode.Tag == "add" && cur != nil:
		if arg.StrictConflict || !bytes.Equal(cur.data, data) {
			conflict = "file"
		}
	case arg.Mode.Tag == "update" && cur == nil:
		// Without strict_conflict Dropbox writes the file even though the
		// rev named a file that is gone.
		if arg.StrictConflict {
			conflict = "file"
		}
	case arg.Mode.Tag == "update" && cur.rev != arg.Mode.Update:
		if arg.StrictConflict || !bytes.Equal(cur.data, data) {
			conflict = "file"
		}
	}
	if conflict != "" {
		s.stats.Conflicts++
		writeJSONBytes(w, 409, uploadErrorBody("conflict", conflict))
		return
	}
	f := cur
	if f == nil || arg.Mode.Tag != "add" && (arg.Mode.Tag == "overwrite" || cur.rev == arg.Mode.Update) {
		f = s.putLocked(arg.Path, data)
	}
	writeJSON(w, 200, s.metadataLocked(f))
}

// writeLock takes the namespace's write lock for an upload, when the model
// is on, and holds it for the model's Hold time. If the lock is not free
// within LockWait, it answers too_many_write_operations and returns false.
func (s *Server) writeLock(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	s.mu.Lock()
	ns := s.ns
	s.mu.Unlock()
	if !ns.on() {
		return func() {}, true
	}
	var wait <-chan time.Time
	if ns.LockWait > 0 {
		t := time.NewTimer(ns.LockWait)
		defer t.Stop()
		wait = t.C
	} else {
		wait = closedTime
	}
	select {
	case s.nsLock <- struct{}{}:
	default:
		select {
		case s.nsLock <- struct{}{}:
		case <-wait:
			s.refuseWrite(w, ns)
			return nil, false
		case <-r.Context().Done():
			return nil, false
		}
	}
	release = func() { <-s.nsLock }
	hold := ns.Hold
	if hold == 0 {
		hold = ns.Latency
	}
	if hold > 0 {
		select {
		case <-time.After(hold):
		case <-r.Context().Done():
			release()
			return nil, false
		}
	}
	return release, true
}

var closedTime = func() <-chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}()

// refuseWrite answers an upload that did not get the namespace lock, in the
// 429 or the 409 form of too_many_write_operations.
func (s *Server) refuseWrite(w http.ResponseWriter, ns Namespace) {
	ra := max(ns.RetryAfter, 1)
	s.mu.Lock()
	s.refusals++
	use429 := ns.Only429 || !ns.Only409 && s.refusals%2 == 1
	if use429 {
		s.stats.LockRefused429++
	} else {
		s.stats.LockRefused409++
	}
	s.mu.Unlock()
	if use429 {
		w.Header().Set("Retry-After", strconv.Itoa(ra))
		writeJSON(w, 429, map[string]any{"error_summary": "too_many_write_operations/..",
			"error": map[string]any{"reason": map[string]any{".tag": "too_many_write_operations"}, "retry_after": ra}})
		return
	}
	writeJSONBytes(w, 409, uploadErrorBody("too_many_write_operations", ""))
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if !s.checkAuth(w, r, Revoke) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.access[bearer(r)]
	if a == nil { // checkAuth passed, so it exists
		return
	}
	rt := a.refresh
	for _, a := range s.access {
		if a.refresh == rt {
			a.revoked = true
		}
	}
	s.refresh[rt] = false
	writeJSONBytes(w, 200, []byte("null"))
}

// list answers files/list_folder (the direct files and folders of a
// folder, in pages of ListPage) and files/list_folder/continue. Its cursor
// is the folder and the offset, in clear: the fake's, not Dropbox's.
func (s *Server) list(w http.ResponseWriter, r *http.Request, endpoint string) {
	if !s.checkAuth(w, r, endpoint) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		badRequest(w, endpoint, fmt.Sprintf("Bad HTTP \"Content-Type\" header: %q.", ct))
		return
	}
	var arg struct {
		Path      string `json:"path"`
		Recursive bool   `json:"recursive"`
		Limit     int    `json:"limit"`
		Cursor    string `json:"cursor"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&arg); err != nil {
		badRequest(w, endpoint, "Error in call to API function: request body: "+err.Error())
		return
	}
	folder, offset := strings.ToLower(arg.Path), 0
	if endpoint == ListMore {
		f, o, ok := strings.Cut(arg.Cursor, "\x00")
		n, err := strconv.Atoi(o)
		if !ok || err != nil {
			writeJSON(w, 409, map[string]any{"error_summary": "reset/..", "error": map[string]any{".tag": "reset"}})
			return
		}
		folder, offset = f, n
	}
	s.mu.Lock()
	names := map[string]string{} // name -> tag
	for key, f := range s.files {
		rest, ok := strings.CutPrefix(key, folder+"/")
		if !ok {
			continue
		}
		display := f.display[len(f.display)-len(rest):]
		if i := strings.IndexByte(display, '/'); i >= 0 {
			names[display[:i]] = "folder"
		} else {
			names[display] = "file"
		}
	}
	exists := folder == "" || len(names) > 0
	s.mu.Unlock()
	if !exists {
		writeJSONBytes(w, 409, downloadErrorBody("not_found"))
		return
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	end := min(offset+ListPage, len(sorted))
	entries := []map[string]any{}
	for _, n := range sorted[min(offset, end):end] {
		entries = append(entries, map[string]any{".tag": names[n], "name": n})
	}
	writeJSON(w, 200, map[string]any{"entries": entries, "cursor": folder + "\x00" + strconv.Itoa(end), "has_more": end < len(sorted)})
}

// authorize stands in for the user allowing access on Dropbox's page: it
// checks the parameters and answers with the code Dropbox would show.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != AppKey:
		http.Error(w, "Invalid client_id", 400)
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", 400)
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43:
		http.Error(w, "PKCE S256 code_challenge required", 400)
	case q.Get("token_access_type") != "offline":
		http.Error(w, "token_access_type must be offline for a refresh token", 400)
	case q.Get("redirect_uri") != "" && !loopbackURL(q.Get("redirect_uri")):
		http.Error(w, "the fake redirects only to this machine (http://127.0.0.1:PORT/...)", 400)
	default:
		scopes := strings.Fields(q.Get("scope"))
		for _, need := range []string{"files.content.read", "files.content.write"} {
			if !slices.Contains(scopes, need) {
				http.Error(w, "missing scope "+need, 400)
				return
			}
		}
		code := "code-" + randHex(12)
		s.mu.Lock()
		s.codes[code] = q.Get("code_challenge")
		s.redirects[code] = q.Get("redirect_uri")
		s.mu.Unlock()
		if back := q.Get("redirect_uri"); back != "" {
			u, _ := url.Parse(back)
			v := u.Query()
			v.Set("code", code)
			if st := q.Get("state"); st != "" {
				v.Set("state", st)
			}
			u.RawQuery = v.Encode()
			http.Redirect(w, r, u.String(), http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, code)
	}
}

// loopbackURL reports whether u is an http(s) URL on this machine.
func loopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return false
	}
	ip := net.ParseIP(p.Hostname())
	return p.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
}

// Approve does what a user does with an authorisation URL: opens it and
// copies the code shown.
func (s *Server) Approve(authURL string) (string, error) {
	resp, err := s.Client().Get(authURL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("authorize: %d %s", resp.StatusCode, b)
	}
	return string(b), nil
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", "could not parse the form")
		return
	}
	if r.PostForm.Get("client_id") != AppKey {
		oauthError(w, 400, "invalid_client", "Invalid client_id or client_secret")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		challenge, ok := s.codes[code]
		redirect := s.redirects[code]
		delete(s.codes, code)
		delete(s.redirects, code)
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge || r.PostForm.Get("redirect_uri") != redirect {
			oauthError(w, 400, "invalid_grant", "code doesn't exist or has expired")
			return
		}
		rt := "rt-" + randHex(16)
		s.refresh[rt] = true
		writeJSON(w, 200, map[string]any{"access_token": s.newAccessLocked(rt), "token_type": "bearer",
			"expires_in": 14400, "refresh_token": rt, "scope": "files.content.read files.content.write",
			"account_id": "dbid:fake-account", "uid": "12345"})
	case "refresh_token":
		s.stats.Refreshes++
		rt := r.PostForm.Get("refresh_token")
		if !s.refresh[rt] {
			oauthError(w, 400, "invalid_grant", "refresh token is invalid or revoked")
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": s.newAccessLocked(rt), "token_type": "bearer", "expires_in": 14400})
	default:
		oauthError(w, 400, "unsupported_grant_type", "grant_type is not supported")
	}
}

func (s *Server) metadataLocked(f *file) map[string]any {
	return map[string]any{
		"name": f.display[strings.LastIndex(f.display, "/")+1:], "path_lower": strings.ToLower(f.display),
		"path_display": f.display, "id": f.id,
		"client_modified": f.modified.Format(time.RFC3339), "server_modified": f.modified.Format(time.RFC3339),
		"rev": f.rev, "size": len(f.data), "content_hash": contentHash(f.data), "is_downloadable": true,
	}
}

func (s *Server) isFolderLocked(key string) bool {
	for k := range s.files {
		if strings.HasPrefix(k, key+"/") {
			return true
		}
	}
	return false
}

func (s *Server) fileAncestorLocked(key string) bool {
	for i := strings.LastIndex(key, "/"); i > 0; i = strings.LastIndex(key[:i], "/") {
		if s.files[key[:i]] != nil {
			return true
		}
	}
	return false
}

// --- bodies and helpers

func uploadErrorBody(reason, conflict string) []byte {
	rs := map[string]any{".tag": reason}
	summary := "path/" + reason + "/"
	if reason == "conflict" {
		rs["conflict"] = map[string]any{".tag": conflict}
		summary += conflict + "/"
	}
	b, _ := json.Marshal(map[string]any{"error_summary": summary + "..",
		"error": map[string]any{".tag": "path", "reason": rs, "upload_session_id": "pid_upload_session:" + randHex(8)}})
	return b
}

func downloadErrorBody(reason string) []byte {
	b, _ := json.Marshal(map[string]any{"error_summary": "path/" + reason + "/..",
		"error": map[string]any{".tag": "path", "path": map[string]any{".tag": reason}}})
	return b
}

func authErrorBody(tag string) []byte {
	e := map[string]any{".tag": tag}
	if tag == "missing_scope" {
		e["required_scope"] = "files.content.write"
	}
	b, _ := json.Marshal(map[string]any{"error_summary": tag + "/..", "error": e})
	return b
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
}

func badRequest(w http.ResponseWriter, endpoint, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(400)
	fmt.Fprintf(w, "Error in call to API function \"%s\": %s", endpoint, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	writeJSONBytes(w, status, b)
}

func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// checkPathArg answers 400 for a path not matching the documented pattern
// of paths (a path starting with '/', or id: / ns: forms the fake does not
// implement).
func checkPathArg(w http.ResponseWriter, endpoint, p string) bool {
	if !strings.HasPrefix(p, "/") {
		badRequest(w, endpoint, fmt.Sprintf("HTTP header \"Dropbox-API-Arg\": path: %q did not match pattern '(/(.|[\\r\\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/.*)?)'", p))
		return false
	}
	return true
}

// malformed reports paths Dropbox answers with malformed_path.
func malformed(p string) bool {
	if p == "/" || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		return true
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func revPattern(rev string) bool {
	if len(rev) < 9 {
		return false
	}
	for _, c := range rev {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// headerSafe escapes JSON for an HTTP header the way Dropbox does.
func headerSafe(b []byte) string {
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r < 0x7F:
			sb.WriteRune(r)
		case r <= 0xFFFF:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			a, b := utf16.EncodeRune(r)
			fmt.Fprintf(&sb, `\u%04x\u%04x`, a, b)
		}
	}
	return sb.String()
}

func contentHash(data []byte) string {
	outer := sha256.New()
	for len(data) > 0 {
		n := min(4<<20, len(data))
		sum := sha256.Sum256(data[:n])
		outer.Write(sum[:])
		data = data[n:]
	}
	return hex.EncodeToString(outer.Sum(nil))
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
