//go:build js && wasm

package remotestorage_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/internal/jsfetch"
	"github.com/vaultdb/vaultdb/internal/jsutil/jstest"
)

// TestBrowserContract runs the adapter contract suite in a browser, over
// fetch (as the page uses the adapter), against the armadietto that
// web/browser_test.go starts on 127.0.0.1 and whose folder and token it
// names in globalThis.vaultdbTest.remoteStorage: {root, token}.
func TestBrowserContract(t *testing.T) {
	r := jstest.Server(t, "remoteStorage")
	root, token := r.Get("root").String(), r.Get("token").String()
	n := 0
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		n++
		a, err := remotestorage.New(remotestorage.Options{Root: fmt.Sprintf("%s/c%d-%d", root, time.Now().UnixNano(), n), Token: token,
			Doer: jsfetch.Doer{}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
}
