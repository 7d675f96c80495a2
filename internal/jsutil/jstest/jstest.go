//go:build js && wasm

// Package jstest gives Go tests compiled for the browser what
// web/browser_test.go hands them: the loopback servers it started, named in
// globalThis.vaultdbTest.
package jstest

import (
	"syscall/js"
	"testing"
)

// Server returns globalThis.vaultdbTest[name], failing the test when the
// page does not set it (the test was not started by web/browser_test.go).
func Server(t testing.TB, name string) js.Value {
	t.Helper()
	v := js.Global().Get("vaultdbTest")
	if v.Type() == js.TypeObject {
		v = v.Get(name)
	}
	if v.Type() != js.TypeObject {
		t.Fatalf("globalThis.vaultdbTest.%s is not set: this test is run by web/browser_test.go, in Chromium", name)
	}
	return v
}
