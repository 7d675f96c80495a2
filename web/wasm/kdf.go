//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/vaultdb/vaultdb/internal/jsutil"
	"github.com/vaultdb/vaultdb/vault/format"
)

// webCryptoKDF is the format's key derivation (PBKDF2-HMAC-SHA256 over the
// NFKD normalised passphrase, 32 bytes) through the browser's WebCrypto:
// about ten times faster than PBKDF2 in Go compiled to wasm, and it runs
// off the page's main thread, so the page stays responsive while it works.
func webCryptoKDF(ctx context.Context, passphrase []byte, p format.KDFParams) ([]byte, error) {
	if p.Iterations < 1 {
		return nil, fmt.Errorf("iterations must be at least 1, got %d", p.Iterations)
	}
	subtle := js.Global().Get("crypto").Get("subtle")
	if subtle.IsUndefined() {
		return nil, fmt.Errorf("this page has no WebCrypto (crypto.subtle): open it over https or from 127.0.0.1")
	}
	norm := format.NormalizePassphrase(passphrase)
	defer clear(norm)
	pass := jsutil.Bytes(norm)
	// The JS copy is wiped as soon as WebCrypto holds its own.
	defer pass.Call("fill", 0)
	key, err := jsutil.Await(ctx, subtle.Call("importKey", "raw", pass, "PBKDF2", false, []any{"deriveBits"}))
	if err != nil {
		return nil, fmt.Errorf("WebCrypto importKey: %w", err)
	}
	params := map[string]any{
		"name":       "PBKDF2",
		"hash":       "SHA-256",
		"salt":       jsutil.Bytes(p.Salt),
		"iterations": p.Iterations,
	}
	bits, err := jsutil.Await(ctx, subtle.Call("deriveBits", params, key, 256))
	if err != nil {
		return nil, fmt.Errorf("WebCrypto deriveBits: %w", err)
	}
	u := js.Global().Get("Uint8Array").New(bits)
	k := jsutil.GoBytes(u)
	u.Call("fill", 0)
	return k, nil
}
