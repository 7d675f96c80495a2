// Package dir is the location scheme of a store in a local directory: a
// plain path, or dir:PATH.
package dir

import (
	"context"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/internal/location"
)

// Scheme is a store in a local directory.
var Scheme = &location.Scheme{
	Name:  "dir",
	Usage: "dir:PATH",
	Parse: func(rest string) (string, error) {
		if rest == "" {
			return "", location.Usagef("the store directory is empty: write dir:PATH")
		}
		return rest, nil
	},
	Open: func(_ context.Context, _ *location.Env, where string) (adapters.Adapter, error) {
		return localdir.New(where, localdir.Options{}), nil
	},
}
