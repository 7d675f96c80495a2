//go:build js && wasm && remote

package main

import (
	"context"
	"errors"
	"syscall/js"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/internal/jsfetch"
)

// The remoteStorage adapter over the browser's fetch (internal/jsfetch, its
// default Doer in a browser). It is in the second wasm (tag "remote",
// vaultdb-remote.wasm), which the page loads only for a remote store.
func init() {
	objectLocations["remotestorage"] = openRemoteStorage
	extraFuncs["rsDiscover"] = rsDiscover
}

// openRemoteStorage opens {type: "remotestorage", storageRoot, folder,
// token}, or {root, token} with root the folder's URL.
func openRemoteStorage(loc js.Value) (adapters.Adapter, string, error) {
	str := func(k string) string {
		if v := loc.Get(k); v.Type() == js.TypeString {
			return v.String()
		}
		return ""
	}
	root, token := str("root"), str("token")
	if sr := str("storageRoot"); sr != "" {
		folder := str("folder")
		if folder == "" {
			folder = "vaultdb"
		}
		ep := remotestorage.Endpoints{StorageRoot: sr}
		root = ep.FolderURL(folder)
	}
	if root == "" || token == "" {
		return nil, "", &codedError{"not-signed-in", errors.New("a remoteStorage location needs the storage root (or the folder's URL) and an access token: sign in first")}
	}
	ad, err := remotestorage.New(remotestorage.Options{Root: root, Token: token, Doer: jsfetch.Doer{}})
	if err != nil {
		return nil, "", err
	}
	return remoteStack(ad), "remotestorage:" + root, nil
}

// rsDiscover(account) asks the account's server with WebFinger where its
// storage and its OAuth dialog are: {account, storageRoot, authURL}.
func rsDiscover(args []js.Value) (any, error) {
	s, err := str(args, 0, "the account (user@host)")
	if err != nil {
		return nil, err
	}
	acct, err := remotestorage.ParseAccount(s)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ep, err := remotestorage.Discover(ctx, jsfetch.Doer{}, acct)
	if err != nil {
		return nil, err
	}
	if ep.AuthURL == "" {
		return nil, errors.New(acct.Host + " offers no OAuth dialog for " + acct.String() + ", so the page cannot sign in to it")
	}
	return map[string]any{"account": acct.String(), "storageRoot": ep.StorageRoot, "authURL": ep.AuthURL}, nil
}
