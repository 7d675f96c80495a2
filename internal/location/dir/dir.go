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
	Open: func(_ context.Context, env *location.Env, where string) (adapters.Adapter, error) {
		// The adapter never prints: its warnings (a store directory other
		// users can write, an abandoned lock file removed) go to the user
		// here.
		return localdir.New(where, localdir.Options{Warn: func(msg string) { env.Warnf("%s", msg) }}), nil
	},
}
