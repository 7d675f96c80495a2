//go:build js && wasm && remotestorage

package main

import (
	"errors"
	"net/http"
	"syscall/js"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/remotestorage"
)

// The remoteStorage adapter over net/http, whose js/wasm transport is the
// browser's fetch. It is behind the tag "remotestorage" because net/http
// (with crypto/tls and x509, which the browser never uses here) more than
// doubles the wasm: 3.1 MB gzipped against the 2 MB budget.
func init() {
	objectLocations["remotestorage"] = func(loc js.Value) (adapters.Adapter, string, error) {
		root, token := loc.Get("root"), loc.Get("token")
		if root.Type() != js.TypeString || token.Type() != js.TypeString {
			return nil, "", errors.New("a remoteStorage location needs root and token strings")
		}
		ad, err := remotestorage.New(remotestorage.Options{Root: root.String(), Token: token.String(),
			HTTPClient: &http.Client{Transport: fetchTransport{}}})
		if err != nil {
			return nil, "", err
		}
		return ad, "remotestorage:" + root.String(), nil
	}
}
