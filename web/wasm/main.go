//go:build js && wasm

// Command wasm is vaultdb's engine for a web page: compiled with GOOS=js
// GOARCH=wasm, it installs globalThis.vaultdb, whose functions return
// promises (see api.go). It imports no terminal, clipboard or local
// directory code: the page does the user interface, and the stores are the
// browser's IndexedDB, a remoteStorage server reached through fetch, or
// memory.
package main

import "syscall/js"

func main() {
	api := newAPI()
	js.Global().Set("vaultdb", api.export())
	// Tell a page that loaded us asynchronously that the API is there.
	if cb := js.Global().Get("onvaultdbready"); cb.Type() == js.TypeFunction {
		cb.Invoke()
	}
	select {}
}
