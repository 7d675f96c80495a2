// Package dir is the location scheme of a store in a local directory: a
// plain path, or dir:PATH.
package dir

import (
	"context"
	"errors"
	"fmt"

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
	Hint: hint,
	Open: func(_ context.Context, env *location.Env, where string) (adapters.Adapter, error) {
		// The adapter never prints: its warnings (a store directory other
		// users can write, an abandoned lock file removed) go to the user
		// here.
		return localdir.New(where, localdir.Options{Warn: func(msg string) { env.Warnf("%s", msg) }}), nil
	},
}

// hint explains a write that gave up waiting for another program's lock
// file (the reference implementation's SHARD.lock).
func hint(err error) string {
	var le *localdir.LockedError
	if !errors.As(err, &le) {
		return ""
	}
	return fmt.Sprintf("another program (such as the VaultDB reference implementation) is writing this store, or one of its writers stopped mid-write; "+
		"vaultdb removes %s by itself once it is %s old, so try again then (\"vaultdb fsck\" lists the store's lock files)", le.Path, le.StaleAfter)
}
