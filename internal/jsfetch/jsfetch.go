//go:build js && wasm

// Package jsfetch is a wire.Doer over the browser's fetch, for the adapters
// that speak HTTP (remoteStorage, Dropbox) when they run in a page. The
// browser does TLS itself, so the page's WebAssembly links no net/http,
// crypto/tls or crypto/x509.
package jsfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"sync"
	"syscall/js"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/internal/jsutil"
)

// MaxResponse bounds a response body by default: a blob of adapters.MaxBlobSize and
// the few bytes of JSON around it in a listing are far less. (The adapters
// bound what they read far tighter; this bounds what a response can make
// the page hold when one announces more.)
const MaxResponse = adapters.MaxBlobSize + 1<<20

// Doer sends requests with fetch: redirect "error" (a redirect is never
// followed, as on the command line), credentials "omit" (no cookies),
// cache "no-store" (a read must never be answered from the browser's HTTP
// cache, or a stale revision would make every write a conflict). A
// request's NoCache needs nothing more: a Cache-Control request header
// would make fetch ask for a CORS preflight that servers refuse
// (armadietto's does).
type Doer struct {
	// MaxResponse bounds a response body; 0 means the default,
	// MaxResponse.
	MaxResponse int64
}

var _ wire.Doer = Doer{}

// Do implements wire.Doer. The response body is read as the caller reads
// it, chunk by chunk from fetch's stream, so a caller's bound on what it
// reads bounds what the page holds; a Content-Length above MaxResponse is
// refused at once (so is a body that grows past it). The body's ContentLength is unknown (-1): fetch
// decompresses a compressed body, whose Content-Length is the compressed
// size. Until the body is closed, the end of ctx aborts the request.
func (d Doer) Do(ctx context.Context, req *wire.Request) (*wire.Response, error) {
	limit := d.MaxResponse
	if limit <= 0 {
		limit = MaxResponse
	}
	opts := js.Global().Get("Object").New()
	opts.Set("method", req.Method)
	opts.Set("redirect", "error")
	opts.Set("credentials", "omit")
	opts.Set("cache", "no-store")
	headers := js.Global().Get("Headers").New()
	for k, v := range req.Header {
		headers.Call("append", k, v)
	}
	opts.Set("headers", headers)
	if len(req.Body) > 0 {
		opts.Set("body", jsutil.Bytes(req.Body))
	}
	ctrl := js.Global().Get("AbortController").New()
	opts.Set("signal", ctrl.Get("signal"))
	done := make(chan struct{})
	var once sync.Once
	finish := func() { once.Do(func() { close(done) }) }
	go func() {
		select {
		case <-ctx.Done():
			ctrl.Call("abort")
		case <-done:
		}
	}()

	what := req.Method + " " + redacted(req.URL)
	resp, err := jsutil.Await(ctx, js.Global().Call("fetch", req.URL, opts))
	if err != nil {
		finish()
		return nil, fmt.Errorf("fetch %s: %w", what, err)
	}
	h := wire.Header{}
	each := js.FuncOf(func(_ js.Value, args []js.Value) any {
		h.Set(args[1].String(), args[0].String())
		return nil
	})
	resp.Get("headers").Call("forEach", each)
	each.Release()
	b := &body{ctx: ctx, what: what, limit: limit, finish: finish}
	if stream := resp.Get("body"); stream.Truthy() {
		b.reader = stream.Call("getReader")
	} else {
		b.err = io.EOF // a response without a body (204, HEAD)
	}
	if cl, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && cl > limit {
		b.Close()
		return nil, fmt.Errorf("%s: the response of %d bytes is larger than the %d-byte limit", what, cl, limit)
	}
	return &wire.Response{Status: resp.Get("status").Int(), Header: h, ContentLength: -1, Body: b}, nil
}

// body reads a fetch response's stream.
type body struct {
	ctx    context.Context
	what   string
	limit  int64
	reader js.Value // a ReadableStreamDefaultReader; undefined without a body
	finish func()   // ends the abort watcher
	buf    []byte   // the rest of the last chunk
	n      int64    // bytes read so far
	err    error    // what Read returns once buf is empty
}

var errClosed = errors.New("read of a closed response body")

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		r, err := jsutil.Await(b.ctx, b.reader.Call("read"))
		switch {
		case err != nil:
			b.err = fmt.Errorf("reading the response to %s: %w", b.what, err)
		case r.Get("done").Bool():
			b.err = io.EOF
		default:
			b.buf = jsutil.GoBytes(r.Get("value"))
			if b.n += int64(len(b.buf)); b.n > b.limit {
				b.buf, b.err = nil, fmt.Errorf("%s: the response is larger than the %d-byte limit", b.what, b.limit)
			}
		}
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

// Close implements io.Closer: the rest of the stream is cancelled.
func (b *body) Close() error {
	if b.err != io.EOF && b.reader.Truthy() {
		// cancel returns a promise; a rejection is of no interest.
		b.reader.Call("cancel").Call("catch", ignore)
	}
	b.buf, b.err = nil, errClosed
	b.finish()
	return nil
}

// ignore is a promise handler that does nothing; never released.
var ignore = js.FuncOf(func(js.Value, []js.Value) any { return nil })

// redacted is u without its query (which may hold a code or token) for
// error messages.
func redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a malformed URL)"
	}
	p.RawQuery, p.Fragment, p.User = "", "", nil
	return p.String()
}
