//go:build js && wasm

package wiredefault

import (
	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/internal/jsfetch"
)

// Doer returns the browser's fetch (jsfetch.Doer).
func Doer() wire.Doer { return jsfetch.Doer{} }
