//go:build js && wasm && remote

package main

import (
	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
)

// remoteStack composes a server's adapter as the command line does
// (internal/location's registry): the adapters make one attempt per call,
// so the retries (with their back-off, Retry-After and per-request
// timeout) and Dropbox's one-upload-at-a-time bound are the stack's.
func remoteStack(a adapters.Adapter) adapters.Adapter {
	return stack.Build(a, stack.Options{Retry: &retry.Options{}})
}
