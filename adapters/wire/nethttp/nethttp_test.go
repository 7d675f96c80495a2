package nethttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/adapters/wire/nethttp"
)

func TestDo(t *testing.T) {
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Add("ETag", `"1"`)
		w.Header().Add("ETag", `"2"`)
		w.WriteHeader(201)
		io.WriteString(w, "answer")
	}))
	defer srv.Close()
	req := wire.NewRequest("PUT", srv.URL+"/a/b", []byte("body"))
	req.Header.Set("if-match", `"0"`)
	req.NoCache = true
	resp, err := nethttp.Default().Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.Status != 201 || string(body) != "answer" || resp.ContentLength != 6 || resp.Header.Get("ETag") != `"1"` {
		t.Errorf("response %d %q, length %d, header %v", resp.Status, body, resp.ContentLength, resp.Header)
	}
	if got.Method != "PUT" || got.URL.Path != "/a/b" || gotBody != "body" || got.Header.Get("If-Match") != `"0"` || got.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("request %s %s %q, header %v", got.Method, got.URL, gotBody, got.Header)
	}
}

// TestRedirectRefused: a redirect is an error, and its target never sees
// the request (nor its bearer token), as fetch's redirect "error" in a
// browser.
func TestRedirectRefused(t *testing.T) {
	var reached atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL+"/elsewhere", http.StatusTemporaryRedirect))
	defer srv.Close()
	req := wire.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := nethttp.New(http.DefaultClient).Do(context.Background(), req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("redirect followed or returned: %d", resp.Status)
	}
	if !strings.Contains(err.Error(), "redirect") || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %v", err)
	}
	if reached.Load() != 0 {
		t.Error("the redirect's target was requested")
	}
	if http.DefaultClient.CheckRedirect != nil {
		t.Error("New changed the client it was given")
	}
}

func TestContextEndsRequest(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := nethttp.Default().Do(ctx, wire.NewRequest("GET", srv.URL, nil)); err == nil {
		t.Fatal("a request with a cancelled context was answered")
	}
}
