//go:build !(js && wasm)

// Package wiredefault picks the wire.Doer of the platform: net/http on
// the command line, the browser's fetch in a web page. It is its own
// package so that package wire stays free of both.
package wiredefault

import (
	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/adapters/wire/nethttp"
)

// Doer returns a new Doer over net/http with a keep-alive pool for
// parallel shard reads (nethttp.Default).
func Doer() wire.Doer { return nethttp.Default() }
