// Package all lists every kind of store the command line can open. Adding
// one is its own package under internal/location plus one line here.
package all

import (
	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/internal/location/dir"
	"github.com/vaultdb/vaultdb/internal/location/dropbox"
	"github.com/vaultdb/vaultdb/internal/location/remotestorage"
)

// Registry returns the registry of all schemes; a plain path is a local
// directory.
func Registry() *location.Registry {
	return location.NewRegistry(dir.Scheme,
		dropbox.Scheme,
		remotestorage.Scheme,
	)
}
