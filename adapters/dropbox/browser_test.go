//go:build js && wasm

package dropbox_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
	"github.com/vaultdb/vaultdb/internal/jsfetch"
	"github.com/vaultdb/vaultdb/internal/jsutil/jstest"
)

// TestBrowserContract runs the adapter contract suite in a browser, over
// fetch (as the page uses the adapter), against the fake Dropbox that
// web/browser_test.go starts on 127.0.0.1 and names in
// globalThis.vaultdbTest.dropbox: {url, accessToken, refreshToken}.
func TestBrowserContract(t *testing.T) {
	d := jstest.Server(t, "dropbox")
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
