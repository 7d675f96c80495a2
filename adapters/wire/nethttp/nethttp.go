// Package nethttp is a wire.Doer over net/http, for the command line.
package nethttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vaultdb/vaultdb/adapters/wire"
)

// Doer sends wire requests with an http.Client.
type Doer struct {
	client *http.Client
}

// New returns a Doer over client. The client's redirect policy is
// replaced: a Doer never follows a redirect (see package wire).
func New(client *http.Client) *Doer {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return errRedirect }
	return &Doer{client: &c}
}

var errRedirect = errors.New("the server answered with a redirect, which vaultdb does not follow")

// Default returns the Doer adapters use on the command line: a keep-alive
// pool of up to 64 connections per host (parallel shard reads), HTTP/2
// where the server offers it, net/http's dial and TLS handshake timeouts,
// and a bound on the wait for the response's header. A request as a whole
// is bounded by its context (the retry layer's per-request timeout).
func Default() *Doer {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ForceAttemptHTTP2 = true
	t.MaxIdleConnsPerHost = 64
	t.MaxConnsPerHost = 64
	t.ResponseHeaderTimeout = 2 * time.Minute
	return New(&http.Client{Transport: t})
}

// Do implements wire.Doer.
func (d *Doer) Do(ctx context.Context, r *wire.Request) (*wire.Response, error) {
	var body *bytes.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	} else {
		req, err = http.NewRequestWithContext(ctx, r.Method, r.URL, http.NoBody)
	}
	if err != nil {
		return nil, fmt.Errorf("bad request: %v", err)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	if r.NoCache {
		req.Header.Set("Cache-Control", "no-cache")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	h := make(wire.Header, len(resp.Header))
	for k, vs := range resp.Header {
		if len(vs) > 0 {
			h.Set(k, vs[0])
		}
	}
	return &wire.Response{Status: resp.StatusCode, Header: h, ContentLength: resp.ContentLength, Body: resp.Body}, nil
}
