//go:build js && wasm

package jsfetch_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/internal/jsfetch"
	"github.com/vaultdb/vaultdb/internal/jsutil/jstest"
)

// TestDoer: requests and streamed responses over fetch, against the
// armadietto that web/browser_test.go starts on 127.0.0.1 (its folder and
// token in globalThis.vaultdbTest.remoteStorage): a body read in small
// pieces is whole, a body closed half-read leaves the next request
// working, and a response announcing more than the bound is refused.
func TestDoer(t *testing.T) {
	r := jstest.Server(t, "remoteStorage")
	root, token := r.Get("root").String(), r.Get("token").String()
	ctx := context.Background()
	url := fmt.Sprintf("%s/jsfetch-%d", root, time.Now().UnixNano())
	do := func(d jsfetch.Doer, method string, body []byte) (*wire.Response, error) {
		req := wire.NewRequest(method, url, body)
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		}
		return d.Do(ctx, req)
	}
	data := []byte(strings.Repeat("0123456789abcdef", 20000)) // 320,000 bytes
	resp, err := do(jsfetch.Doer{}, "PUT", data)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Status != 200 && resp.Status != 201 {
		t.Fatalf("PUT answered %d", resp.Status)
	}

	resp, err = do(jsfetch.Doer{}, "GET", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	buf := make([]byte, 1000)
	for {
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	resp.Body.Close()
	if resp.Status != 200 || !bytes.Equal(got.Bytes(), data) || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET answered %d with %d bytes (want %d) and ETag %q", resp.Status, got.Len(), len(data), resp.Header.Get("ETag"))
	}

	resp, err = do(jsfetch.Doer{}, "GET", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := resp.Body.Read(buf); err == nil {
		t.Error("read after Close succeeded")
	}

	if resp, err := do(jsfetch.Doer{MaxResponse: 1000}, "GET", nil); err == nil {
		resp.Body.Close()
		t.Fatalf("a response of %d bytes passed a bound of 1000", len(data))
	} else if !strings.Contains(err.Error(), "limit") || strings.Contains(err.Error(), token) {
		t.Fatalf("over the bound: %v", err)
	}
}
