package vaultsim

import (
	"os"
	"testing"
)

// TestPriorityMigrations runs the migration scenarios under priority
// schedules (see Priority): a client that stays idle while another one
// runs most of a migration, then acts. The scenarios of MigratingTarget
// need exactly that, and uniform random schedules do not reach them.
func TestPriorityMigrations(t *testing.T) {
	placements, n := 2, 150
	if os.Getenv("VAULTSIM_FULL") != "" {
		n = 3000
	}
	for _, sc := range append(MigratingTarget(), Migrating()...) {
		sc.Paths = relevantPaths(sc)
		t.Run(sc.Name, func(t *testing.T) {
			seeds, err := Placements(sc, placements, 400)
			if err != nil {
				t.Fatal(err)
			}
			for _, seed := range seeds {
				if res := Priority(t, sc, seed, seed*104729, n, 3); res.Failure != nil {
					t.Fatalf("violation: %s", res.Failure)
				}
			}
		})
	}
}
