//go:build js && wasm

// Package jsfetch is a wire.Doer over the browser's fetch, for the adapters
// that speak HTTP (remoteStorage, Dropbox) when they run in a page. The
// browser does TLS itself, so the page's WebAssembly links no net/http,
// crypto/tls or crypto/x509.
package jsfetch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"syscall/js"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/internal/jsutil"
)

// MaxResponse bounds a response body: a blob of adapters.MaxBlobSize and
// the few bytes of JSON around it in a listing are far less.
const MaxResponse = adapters.MaxBlobSize + 1<<20

// Doer sends requests with fetch: redirect "error" (a redirect is never
// followed, as on the command line), credentials "omit" (no cookies),
// cache "no-store" (a read must never be answered from the browser's HTTP
// cache, or a stale revision would make every write a conflict). A
// request's NoCache needs nothing more: a Cache-Control request header
// would make fetch ask for a CORS preflight that servers refuse
// (armadietto's does).
type Doer struct{}

var _ wire.Doer = Doer{}

// Do implements wire.Doer. The response body is read whole (fetch gives
// it at once as an ArrayBuffer), after a Content-Length above MaxResponse
// was refused.
func (Doer) Do(ctx context.Context, req *wire.Request) (*wire.Response, error) {
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
	defer close(done)
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
		return nil, fmt.Errorf("fetch %s: %w", what, err)
	}
	h := wire.Header{}
	each := js.FuncOf(func(_ js.Value, args []js.Value) any {
		h.Set(args[1].String(), args[0].String())
		return nil
	})
	resp.Get("headers").Call("forEach", each)
	each.Release()
	if cl, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && cl > MaxResponse {
		return nil, fmt.Errorf("%s: the response of %d bytes is larger than the %d-byte limit", what, cl, MaxResponse)
	}
	buf, err := jsutil.Await(ctx, resp.Call("arrayBuffer"))
	if err != nil {
		return nil, fmt.Errorf("reading the response to %s: %w", what, err)
	}
	if n := buf.Get("byteLength").Int(); n > MaxResponse {
		return nil, fmt.Errorf("%s: the response of %d bytes is larger than the %d-byte limit", what, n, MaxResponse)
	}
	body := jsutil.GoBytes(buf)
	return &wire.Response{
		Status:        resp.Get("status").Int(),
		Header:        h,
		ContentLength: int64(len(body)),
		Body:          io.NopCloser(bytes.NewReader(body)),
	}, nil
}

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
