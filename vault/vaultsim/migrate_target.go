package vaultsim

// MigratingTarget are migrations against a client that routes by their
// target layout: it opened the store when that layout was current (a web
// page left open, the agent), the store moved away, and a migration now
// moves it back with the same keys. From the moment the migration writes
// a file of the new layout until it switches the config, that file is
// live for the client, which reads and writes it like any shard; its
// writes are acknowledged, and the switch keeps them. A crash before the
// switch leaves the rest to a resume, which must keep them too (red team
// item B: the resume stopped with "move it away and resume", and moving
// the file away lost them).
func MigratingTarget() []*Scenario {
	two := map[string]string{"/a/x": `1`, "/b/c/y": `1`}
	return []*Scenario{
		{Name: "migrate: back to the layout of a stale creator, crash", Shards: 2, Setup: two, Crashes: 1,
			Clients: [][]Call{{mig(3), reopen(), mig(2)}, {upd("/a/z", `1`)}}},
		{Name: "migrate: back to the layout of a stale remover, crash", Shards: 2, Setup: two, Crashes: 1,
			Clients: [][]Call{{mig(3), reopen(), mig(2)}, {rm("/b/c/y")}}},
		// Opening again at any moment: in the first era it routes by the
		// target layout, in the second by the layout the move back seals,
		// in the third by the current one.
		{Name: "migrate: back to the layout of a reopening writer, crash", Shards: 2, Setup: two, Crashes: 1,
			Clients: [][]Call{{mig(3), reopen(), mig(2)}, {reopen(), upd("/a/z", `1`), reopen(), rm("/b/c/y")}}},
	}
}
