//go:build js && wasm

// Package jsfetch is an http.RoundTripper over the browser's fetch, for
// the adapters that speak HTTP (remoteStorage, Dropbox) when they run in a
// page. It is its own package so that only what imports it links net/http
// (with crypto/tls and x509, which more than double a wasm).
package jsfetch

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall/js"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/internal/jsutil"
)

// Transport is an http.RoundTripper over the browser's fetch. net/http's
// own js transport cannot set fetch's cache mode, so the remoteStorage
// adapter's "Cache-Control: no-cache" would go out as a request header,
// which servers' CORS rules refuse (armadietto's preflight does not allow
// it). Here that header becomes cache: "no-store" instead:
// a read must never be answered from the browser's HTTP cache, or a stale
// revision would make every write a conflict.
type Transport struct{}

// Client returns an HTTP client over Transport.
func Client() *http.Client { return &http.Client{Transport: Transport{}} }

// RoundTrip implements http.RoundTripper.
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	opts := js.Global().Get("Object").New()
	opts.Set("method", req.Method)
	opts.Set("redirect", "error")
	opts.Set("credentials", "omit")
	opts.Set("cache", "no-store")
	headers := js.Global().Get("Headers").New()
	for k, vs := range req.Header {
		if http.CanonicalHeaderKey(k) == "Cache-Control" {
			continue
		}
		for _, v := range vs {
			headers.Call("append", k, v)
		}
	}
	opts.Set("headers", headers)
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, adapters.MaxBlobSize+1))
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(b) > 0 {
			opts.Set("body", jsutil.Bytes(b))
		}
	}
	ctrl := js.Global().Get("AbortController").New()
	opts.Set("signal", ctrl.Get("signal"))
	ctx := req.Context()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			ctrl.Call("abort")
		case <-done:
		}
	}()

	resp, err := jsutil.Await(ctx, js.Global().Call("fetch", req.URL.String(), opts))
	if err != nil {
		return nil, fmt.Errorf("fetch %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	h := http.Header{}
	each := js.FuncOf(func(_ js.Value, args []js.Value) any {
		h.Add(args[1].String(), args[0].String())
		return nil
	})
	resp.Get("headers").Call("forEach", each)
	each.Release()
	if cl, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && cl > adapters.MaxBlobSize {
		return nil, fmt.Errorf("%s %s: the response of %d bytes is larger than the %d-byte limit", req.Method, req.URL.Redacted(), cl, adapters.MaxBlobSize)
	}
	buf, err := jsutil.Await(ctx, resp.Call("arrayBuffer"))
	if err != nil {
		return nil, fmt.Errorf("reading the response to %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	body := jsutil.GoBytes(buf)
	code := resp.Get("status").Int()
	return &http.Response{
		Status:        strconv.Itoa(code) + " " + resp.Get("statusText").String(),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
