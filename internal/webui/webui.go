// Package webui serves vaultdb's web page (web/static and the engine
// compiled to WebAssembly) on this machine, for "vaultdb web".
//
// The page's files are embedded in the binary only when it is built with
// the tag "webembed" after the wasm was built into internal/webui/site,
// which "make build" and "make install" do: a plain "go build" or "go
// install" cannot run the wasm build first, and a binary without the page
// says how to get it (ErrNotBuilt) rather than serving nothing.
package webui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strings"
	"time"
)

// ErrNotBuilt is the error of Site in a binary built without the page.
var ErrNotBuilt = errors.New(`this vaultdb was built without the web page: build it with "make build" or "make install" in vaultdb's source (they build the page to WebAssembly first and embed it), or serve the folder "make web" writes (bin/web) with any static web server`)

// csp is the page's Content-Security-Policy (index.html carries the same
// as a meta tag, for static hosts that send none): its own scripts and
// wasm only, and requests to https servers (Dropbox, remoteStorage) or
// servers on this machine.
const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' https: http://127.0.0.1:* http://localhost:*; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the files of site with headers that keep the page to
// itself: no framing, no sniffing, no referrer, and revalidation on every
// load (a new binary's page must not run an old cached wasm).
func Handler(site fs.FS, config []byte) http.Handler {
	files := http.FileServerFS(site)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if path.Clean(r.URL.Path) == "/config.json" && config != nil {
			h.Set("Content-Type", "application/json")
			w.Write(config)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".wasm") {
			h.Set("Content-Type", "application/wasm")
		}
		files.ServeHTTP(w, r)
	})
}

// Listen listens on 127.0.0.1:port (0: any free port), and nowhere else:
// the page holds no secret, but what it talks to should not be offered to
// the network by accident.
func Listen(port int) (net.Listener, error) {
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("port %d is not a TCP port (0 to 65535)", port)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, fmt.Errorf("cannot listen on 127.0.0.1:%d: %w", port, err)
	}
	return ln, nil
}

// Serve serves h on ln until ctx is done, then shuts down, letting
// requests in flight finish for up to 5 seconds.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return nil
	}
}
