// Package remotestorage implements a blob store in a folder of a
// remoteStorage account (draft-dejong-remotestorage, version 10 onwards).
//
// # Layout
//
// Blob id is the document <Root>/<id>, where Root is the storage root that
// WebFinger names for the account (see Discover) followed by the store's
// folder, such as https://example.com/storage/alice/vaultdb. Ids may contain
// only a-z, 0-9 and '-' (as in localdir), so an id never names another
// folder; any other id is rejected before any request. Blobs are sent as
// text/plain; charset=utf-8 (a store's blobs are UTF-8 text), and at most
// adapters.MaxBlobSize bytes are read or written.
//
// # Compare-and-swap
//
// A read is a GET with Cache-Control: no-cache; the response's ETag is the
// blob's revision, kept verbatim. 404 is adapters.ErrNotFound. A write is a
// PUT with If-Match: <revision>, or If-None-Match: * when the blob must not
// exist; the new revision is the response's ETag, and 412 Precondition
// Failed is adapters.ErrConflict.
//
// # Torn reads
//
// armadietto (the common self-hosted server) writes a document in place and
// answers reads without a lock, so a GET racing a PUT of the same folder
// can answer 404 for a document that exists, or 200 with an empty or partly
// written body under the previous ETag. The adapter does not take such an
// answer on trust: with every GET it also fetches the folder listing (in
// parallel, so a read still costs one round trip), and believes the
// document's answer only when the listing agrees with it:
//
//   - a 200 is believed when the listing names the document with the same
//     ETag and, where the listing gives one, the same Content-Length;
//   - a 404 is believed when a listing that carries an ETag does not name
//     the document. armadietto answers a listing it read half-written
//     without an ETag, as it does for a folder that does not exist yet; then
//     the 404 is believed once it was seen twice in a row, or, for a blob
//     this adapter has read or written before (vaultdb never deletes blobs),
//     only after MaxSettle reads.
//
// When they disagree, both are fetched again after a short pause, up to
// MaxSettle times; after that the read fails with adapters.ErrTransient.
// This is done here, not in the engine, because it is a defect of a
// particular server that the adapter contract (opaque bytes, atomic reads)
// must hide from every caller, and only the server's own listing can tell a
// torn body from a real one without knowing the blob's format; the stored
// bytes stay exactly what other VaultDB clients write. A server whose reads
// are atomic can skip the check with Options.AtomicReads.
//
// armadietto's ETags are millisecond timestamps, so two writes of a
// document within one millisecond get the same ETag, and a client still
// holding the first could overwrite the second. When a write's new ETag
// equals the one it replaced, the adapter writes the same bytes again
// (with If-Match on that ETag) until the ETag differs.
//
// # Failures
//
// 401 and 403 match adapters.ErrUnauthorized (armadietto answers 403 to a
// token it does not know). 429, 5xx, network errors and cut-off bodies are
// adapters.ErrTransient, with the server's Retry-After as an
// adapters.RetryAfterError. The adapter makes one attempt per call:
// retries are not its own but the retry layer's (package adapters/retry),
// composed with the others by adapters/stack, as the command line and the
// web page both do.
// No error message contains the access token or blob content. Messages say
// what failed; what the user should do about it is the command line's
// business.
//
// # Requests
//
// Requests go through a wire.Doer: net/http on the command line, the
// browser's fetch in a web page (see package adapters/wire). Neither
// follows a redirect.
package remotestorage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/adapters/wire/wiredefault"
)

var _ adapters.Adapter = (*Adapter)(nil)

// DefaultMaxSettle is how many times a read is repeated, by default, while
// the document's answer and the folder listing disagree.
const DefaultMaxSettle = 8

// contentType is the type every blob is written with.
const contentType = "text/plain; charset=utf-8"

// Options configures an Adapter. Root and Token are required.
type Options struct {
	// Root is the URL of the store's folder: the account's storage root
	// (from Discover) and the folder path, such as
	// https://example.com/storage/alice/vaultdb. It must be https, or http
	// to a loopback address.
	Root string
	// Token is the OAuth bearer token, with read-write access to Root.
	Token string

	// Doer sends the requests. Default: wiredefault.Doer(), net/http with a
	// keep-alive pool large enough for parallel shard reads on the command
	// line, fetch in a browser. Requests are bounded by their context (the
	// retry layer's per-request timeout).
	Doer wire.Doer

	// AtomicReads skips the torn-read check (see the package
	// documentation): for servers that never answer a read with a
	// half-written document. A read then costs one request instead of two.
	AtomicReads bool
	// MaxSettle bounds the re-reads of the torn-read check. Default
	// DefaultMaxSettle.
	MaxSettle int
	// SettlePause is the first pause before a re-read; it doubles with each
	// further one. Default 5ms.
	SettlePause time.Duration
}

// Adapter is a blob store in a remoteStorage folder. Create it with New.
type Adapter struct {
	c *client
}

// New returns an adapter for the folder opts.Root. It makes no request.
func New(opts Options) (*Adapter, error) {
	root, err := checkRoot(opts.Root)
	if err != nil {
		return nil, err
	}
	if opts.Token == "" {
		return nil, errors.New("no remoteStorage access token")
	}
	if strings.ContainsFunc(opts.Token, func(r rune) bool { return r <= ' ' || r >= 0x7F }) {
		return nil, errors.New("the remoteStorage access token contains spaces or control characters")
	}
	if opts.Doer == nil {
		opts.Doer = wiredefault.Doer()
	}
	if opts.MaxSettle <= 0 {
		opts.MaxSettle = DefaultMaxSettle
	}
	if opts.SettlePause <= 0 {
		opts.SettlePause = 5 * time.Millisecond
	}
	c := &client{root: root, token: opts.Token, http: opts.Doer, opts: opts, seen: map[string]bool{}}
	return &Adapter{c: c}, nil
}

// Read implements adapters.Adapter with one attempt (which may fetch the
// document several times while it is being written).
func (a *Adapter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	return a.c.Read(ctx, id)
}

// Write implements adapters.Adapter with one attempt.
func (a *Adapter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	return a.c.Write(ctx, id, data, rev)
}

// List implements adapters.Lister: the documents of the store's folder,
// from one folder listing (subfolders are not blobs and are left out).
func (a *Adapter) List(ctx context.Context) ([]string, error) {
	l, err := a.c.list(ctx, "folder listing")
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(l.items))
	for name := range l.items {
		if !strings.HasSuffix(name, "/") {
			ids = append(ids, name)
		}
	}
	return ids, nil
}

// URL returns the URL of blob id.
func (a *Adapter) URL(id string) string { return a.c.root + "/" + id }

// client makes the requests.
type client struct {
	root  string // without a trailing slash
	token string
	http  wire.Doer
	opts  Options

	mu   sync.Mutex
	seen map[string]bool // blobs read or written: vaultdb never deletes them
}

func (c *client) markSeen(id string) {
	c.mu.Lock()
	c.seen[id] = true
	c.mu.Unlock()
}

func (c *client) wasSeen(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[id]
}

// doc is one answer for a document: found or not, and if found its bytes
// and ETag.
type doc struct {
	found bool
	data  []byte
	etag  string
}

// Read implements adapters.Adapter with one attempt (which may fetch the
// document several times while it is being written).
func (c *client) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	if err := precheck(ctx, "read", id); err != nil {
		return nil, adapters.NoRev, err
	}
	if c.opts.AtomicReads {
		d, err := c.get(ctx, id)
		if err != nil {
			return nil, adapters.NoRev, err
		}
		return c.result(id, d)
	}
	pause := c.opts.SettlePause
	missingBefore := false
	for attempt := 1; ; attempt++ {
		var (
			d          doc
			l          *listing
			dErr, lErr error
			wg         sync.WaitGroup
		)
		wg.Go(func() { l, lErr = c.list(ctx, id) })
		d, dErr = c.get(ctx, id)
		wg.Wait()
		if dErr != nil {
			return nil, adapters.NoRev, dErr
		}
		if lErr != nil {
			return nil, adapters.NoRev, lErr
		}
		verdict := l.judge(id, d)
		switch {
		case verdict == agree:
			return c.result(id, d)
		case verdict == unsure && !d.found && missingBefore && !c.wasSeen(id):
			// Twice in a row: no such document and a listing without an
			// ETag, as armadietto answers for a folder that does not
			// exist yet.
			return c.result(id, d)
		case verdict == unsure && !d.found && attempt >= c.opts.MaxSettle:
			// A blob seen before answered missing every time.
			return c.result(id, d)
		}
		missingBefore = verdict == unsure && !d.found
		if attempt >= c.opts.MaxSettle {
			return nil, adapters.NoRev, adapters.NewError("read", id, adapters.ErrTransient,
				fmt.Errorf("the server's answers for the document and its folder listing still disagreed after %d reads (it is being written, or the server answered a half-written state)", attempt))
		}
		if err := sleep(ctx, pause); err != nil {
			return nil, adapters.NoRev, adapters.NewError("read", id, nil, err)
		}
		pause *= 2
	}
}

func (c *client) result(id string, d doc) ([]byte, adapters.Rev, error) {
	if !d.found {
		return nil, adapters.NoRev, adapters.NewError("read", id, adapters.ErrNotFound, nil)
	}
	c.markSeen(id)
	return d.data, adapters.Rev(d.etag), nil
}

// get fetches document id once.
func (c *client) get(ctx context.Context, id string) (doc, error) {
	resp, err := c.http.Do(ctx, c.request("GET", c.root+"/"+id, nil))
	if err != nil {
		return doc{}, netErr(ctx, "read", id, err)
	}
	defer resp.Body.Close()
	switch resp.Status {
	case 200:
	case 404:
		return doc{}, nil
	default:
		return doc{}, statusErr("read", id, resp)
	}
	etag := strings.TrimSpace(resp.Header.Get("ETag"))
	if etag == "" {
		return doc{}, adapters.NewError("read", id, adapters.ErrTransient,
			errors.New("the server answered without an ETag"))
	}
	if !validETag(etag) {
		return doc{}, adapters.NewError("read", id, nil,
			errors.New("the server answered with a malformed ETag"))
	}
	if resp.ContentLength > adapters.MaxBlobSize {
		return doc{}, tooLarge("read", id, resp.ContentLength)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, adapters.MaxBlobSize+1))
	if err != nil {
		return doc{}, netErr(ctx, "read", id, fmt.Errorf("response cut off: %w", err))
	}
	if len(data) > adapters.MaxBlobSize {
		return doc{}, tooLarge("read", id, int64(len(data)))
	}
	if resp.ContentLength >= 0 && int64(len(data)) != resp.ContentLength {
		return doc{}, adapters.NewError("read", id, adapters.ErrTransient,
			fmt.Errorf("response of %d bytes cut off at %d", resp.ContentLength, len(data)))
	}
	if data == nil {
		data = []byte{}
	}
	return doc{found: true, data: data, etag: etag}, nil
}

// listing is what a folder listing says about the folder's documents.
type listing struct {
	etag  string // the folder's ETag; "" when the server sent none
	items map[string]listItem
}

type listItem struct {
	ETag   string `json:"ETag"`
	Length *int64 `json:"Content-Length"`
}

type verdict int

const (
	agree    verdict = iota // the listing confirms the document's answer
	disagree                // it contradicts it: re-read
	unsure                  // a listing without an ETag that does not name the document
)

// judge compares the answer for document id with the listing.
func (l *listing) judge(id string, d doc) verdict {
	it, listed := l.items[id]
	switch {
	case d.found && listed:
		if unquote(it.ETag) != unquote(d.etag) {
			return disagree
		}
		if it.Length != nil && *it.Length != int64(len(d.data)) {
			return disagree
		}
		return agree
	case d.found:
		return disagree
	case listed:
		return disagree
	case l.etag == "":
		return unsure
	default:
		return agree
	}
}

// list fetches the folder listing once, for the read of blob id.
func (c *client) list(ctx context.Context, id string) (*listing, error) {
	resp, err := c.http.Do(ctx, c.request("GET", c.root+"/", nil))
	if err != nil {
		return nil, netErr(ctx, "read", id, fmt.Errorf("folder listing: %w", err))
	}
	defer resp.Body.Close()
	switch resp.Status {
	case 200:
	case 404:
		// Servers of early drafts answer 404 for an empty folder.
		return &listing{}, nil
	default:
		return nil, statusErr("read", id, resp)
	}
	// A listing names every document of the folder: a few dozen for a
	// store, so 4 MiB is far more than enough.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20+1))
	if err != nil {
		return nil, netErr(ctx, "read", id, fmt.Errorf("folder listing cut off: %w", err))
	}
	if len(body) > 4<<20 {
		return nil, adapters.NewError("read", id, nil, errors.New("the store's folder listing is larger than 4 MiB; the folder should hold only the store's blobs"))
	}
	var j struct {
		Items map[string]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		// A listing cut short while the server wrote it: ask again.
		return &listing{}, nil
	}
	l := &listing{etag: strings.TrimSpace(resp.Header.Get("ETag")), items: map[string]listItem{}}
	for name, raw := range j.Items {
		var it listItem
		if json.Unmarshal(raw, &it) != nil {
			continue
		}
		l.items[name] = it
	}
	return l, nil
}

// Write implements adapters.Adapter with one attempt.
func (c *client) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if err := precheck(ctx, "write", id); err != nil {
		return adapters.NoRev, err
	}
	if len(data) > adapters.MaxBlobSize {
		return adapters.NoRev, tooLarge("write", id, int64(len(data)))
	}
	if rev != adapters.NoRev && !validETag(string(rev)) {
		// Not an ETag, so not the document's current one.
		return adapters.NoRev, adapters.NewError("write", id, adapters.ErrConflict,
			errors.New("the expected revision is not an ETag"))
	}
	etag, err := c.put(ctx, id, data, string(rev))
	if err != nil {
		return adapters.NoRev, err
	}
	// Same ETag as the version replaced: both were written in one tick of
	// the server's clock. Write again until the version has its own.
	for i := 0; rev != adapters.NoRev && unquote(etag) == unquote(string(rev)); i++ {
		if i == 20 {
			return adapters.NoRev, adapters.NewError("write", id, adapters.ErrTransient,
				errors.New("the server keeps giving new content the ETag of the version it replaced"))
		}
		if err := sleep(ctx, 2*time.Millisecond); err != nil {
			return adapters.NoRev, adapters.NewError("write", id, nil, err)
		}
		etag, err = c.put(ctx, id, data, etag)
		if errors.Is(err, adapters.ErrConflict) {
			// Another client held the shared ETag and wrote over this
			// write: it happened, but is gone again.
			return adapters.NoRev, adapters.NewError("write", id, adapters.ErrTransient,
				errors.New("another client overwrote the document while its ETag was ambiguous"))
		}
		if err != nil {
			return adapters.NoRev, err
		}
	}
	c.markSeen(id)
	return adapters.Rev(etag), nil
}

// put sends one PUT: If-Match ifMatch, or If-None-Match: * when ifMatch is
// empty. It returns the new ETag.
func (c *client) put(ctx context.Context, id string, data []byte, ifMatch string) (string, error) {
	if data == nil {
		data = []byte{}
	}
	req := c.request("PUT", c.root+"/"+id, data)
	req.Header.Set("Content-Type", contentType)
	if ifMatch == "" {
		req.Header.Set("If-None-Match", "*")
	} else {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		return "", netErr(ctx, "write", id, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch resp.Status {
	case 200, 201, 204:
	case 412:
		return "", adapters.NewError("write", id, adapters.ErrConflict, nil)
	default:
		return "", statusErr("write", id, resp)
	}
	etag := strings.TrimSpace(resp.Header.Get("ETag"))
	if etag == "" || !validETag(etag) {
		// The write happened, but its revision is unknown: a retry
		// conflicts, which tells the caller to read again.
		return "", adapters.NewError("write", id, adapters.ErrTransient,
			errors.New("the server accepted the write but sent no valid ETag"))
	}
	return etag, nil
}

func (c *client) request(method, u string, body []byte) *wire.Request {
	req := wire.NewRequest(method, u, body)
	req.Header.Set("Authorization", "Bearer "+c.token)
	// A read must come from the server: a cached answer would carry a
	// stale ETag.
	req.NoCache = method == "GET"
	return req
}

// StatusError is an unexpected HTTP answer of the server. It holds no token
// and no blob content.
type StatusError struct {
	Status int
	// Text is the start of the server's answer, or of its
	// WWW-Authenticate header, printable.
	Text string
	Wait time.Duration // the server's Retry-After, if any
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("the remoteStorage server answered %d %s", e.Status, wire.StatusText(e.Status))
	if e.Text != "" {
		msg += ": " + e.Text
	}
	return msg
}

// retryAfterError carries the Retry-After hint (adapters.RetryAfterError).
type retryAfterError struct{ *StatusError }

func (e retryAfterError) RetryAfter() time.Duration { return e.Wait }
func (e retryAfterError) Unwrap() error             { return e.StatusError }

var _ adapters.RetryAfterError = retryAfterError{}

// statusErr reads and classifies an unexpected answer.
func statusErr(op, id string, resp *wire.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	e := &StatusError{Status: resp.Status}
	if a := resp.Header.Get("WWW-Authenticate"); a != "" {
		e.Text = shorten(a)
	} else if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		e.Text = shorten(string(body))
	}
	var kind error
	switch s := resp.Status; {
	case s == 401 || s == 403:
		kind = adapters.ErrUnauthorized
	case s == 429 || s >= 500:
		kind = adapters.ErrTransient
	}
	var err error = e
	if d, ok := wire.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && kind == adapters.ErrTransient {
		e.Wait = d
		err = retryAfterError{e}
	}
	return adapters.NewError(op, id, kind, err)
}

func netErr(ctx context.Context, op, id string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return adapters.NewError(op, id, nil, cerr)
	}
	return adapters.NewError(op, id, adapters.ErrTransient, fmt.Errorf("network error talking to the remoteStorage server: %v", err))
}

func tooLarge(op, id string, n int64) error {
	return adapters.NewError(op, id, nil, fmt.Errorf("blob of %d bytes is larger than the limit of %d bytes", n, adapters.MaxBlobSize))
}

func precheck(ctx context.Context, op, id string) error {
	if err := ctx.Err(); err != nil {
		return adapters.NewError(op, id, nil, err)
	}
	if id == "" {
		return adapters.NewError(op, id, nil, errors.New("empty blob id"))
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return adapters.NewError(op, id, nil, errors.New("invalid blob id: only a-z, 0-9 and '-' are allowed"))
		}
	}
	return nil
}

// checkRoot checks a folder URL and returns it without a trailing slash.
func checkRoot(root string) (string, error) {
	u, err := url.Parse(root)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("remoteStorage folder %q is not an absolute URL without query or fragment", root)
	}
	if err := checkScheme(u); err != nil {
		return "", fmt.Errorf("remoteStorage folder %q: %v", root, err)
	}
	return strings.TrimSuffix(root, "/"), nil
}

// checkScheme accepts https, and plain http only to this machine: a bearer
// token must not cross a network in the clear.
func checkScheme(u *url.URL) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
		return nil
	}
	return errors.New("must be https (plain http only to this machine)")
}

// IsLoopback reports whether host names this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil && ip.Unmap().IsLoopback()
}

// validETag accepts what can be sent back in an If-Match header: printable
// ASCII.
func validETag(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7F {
			return false
		}
	}
	return true
}

// unquote strips a weak marker and the quotes of an ETag, for comparing the
// header's form with a listing's.
func unquote(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}

// shorten keeps the first line of s, at most 200 bytes, printable ASCII.
func shorten(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7F {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
