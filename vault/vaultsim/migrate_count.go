package vaultsim

import (
	"errors"

	"github.com/vaultdb/vaultdb/vault"
)

// countAllowed reports whether the final store may have n shards, some
// migration having succeeded: the count of a migration that no successful
// one follows in real time (started after it ended). The one that ended
// last need not be the one that switched last: a run that finds its move
// done by another (a resume) reports success after emptying its seals,
// which can end after a later move. A migration that failed may count
// too (its claim may be sealed: the resume before the checks finishes
// it, as "vaultdb reshard --resume" would), unless it was refused because
// another held the store, which changes nothing.
func countAllowed(w *world, _ *callState, n int) bool {
	var migs []*callState
	for _, c := range w.clients {
		for _, cs := range c.calls {
			if cs.call.Kind == Migrate {
				migs = append(migs, cs)
			}
		}
	}
	acked := func(cs *callState) bool { return cs.done && cs.err == nil }
	for _, x := range migs {
		if x.call.Shards != n || x.done && errors.Is(x.err, vault.ErrMigrating) {
			continue
		}
		followed := false
		for _, m := range migs {
			if m != x && acked(m) && m.start > x.end {
				followed = true
			}
		}
		if !followed {
			return true
		}
	}
	return false
}
