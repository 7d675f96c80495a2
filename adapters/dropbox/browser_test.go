//go:build js && wasm

package dropbox_test

import (
	"fmt"
	"syscall/js"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
	"github.com/vaultdb/vaultdb/internal/jsfetch"
)

// TestBrowserContract runs the adapter contract suite in a browser, over
// fetch (as the page uses the adapter), against the fake Dropbox that
// web/browser_test.go starts on 127.0.0.1 and names in
// globalThis.vaultdbTest.dropbox: {url, accessToken, refreshToken}.
func TestBrowserContract(t *testing.T) {
	d := js.Global().Get("vaultdbTest").Get("dropbox")
	if d.Type() != js.TypeObject {
		t.Fatal("globalThis.vaultdbTest.dropbox is not set: this test is run by web/browser_test.go, in Chromium")
	}
	url := d.Get("url").String()
	tok := &dropbox.Token{AccessToken: d.Get("accessToken").String(), RefreshToken: d.Get("refreshToken").String()}
	n := 0
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		n++
		a, err := dropbox.New(dropbox.Options{Root: fmt.Sprintf("/contract-%d-%d", time.Now().UnixNano(), n),
			APIBase: url, ContentBase: url, TokenURL: url + "/oauth2/token", AppKey: dropboxtest.AppKey,
			Token: tok, Doer: jsfetch.Doer{}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
}
