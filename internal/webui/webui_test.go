package webui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	site := fstest.MapFS{
		"index.html":   {Data: []byte("<!doctype html><title>vaultdb</title>")},
		"vaultdb.wasm": {Data: []byte("\x00asm")},
	}
	h := Handler(site, []byte(`{"dropbox":{"appKey":"k"}}`))
	get := func(method, p string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, p, nil))
		return w
	}
	w := get("GET", "/")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "<title>vaultdb") {
		t.Fatalf("GET /: %d %q", w.Code, w.Body)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"} {
		if w.Header().Get(k) != want {
			t.Errorf("%s: %q, want %q", k, w.Header().Get(k), want)
		}
	}
	if !strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP %q", w.Header().Get("Content-Security-Policy"))
	}
	if w := get("GET", "/vaultdb.wasm"); w.Code != 200 || w.Header().Get("Content-Type") != "application/wasm" {
		t.Errorf("GET /vaultdb.wasm: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if w := get("GET", "/config.json"); w.Body.String() != `{"dropbox":{"appKey":"k"}}` || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("GET /config.json: %q %q", w.Body, w.Header().Get("Content-Type"))
	}
	if w := get("POST", "/"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", w.Code)
	}
	if w := get("GET", "/../../etc/passwd"); w.Code != 404 {
		t.Errorf("GET /../../etc/passwd: %d", w.Code)
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
		t.Errorf("listening on %s", ln.Addr())
	}
	if _, err := Listen(70000); err == nil {
		t.Errorf("port 70000 accepted")
	}
}
