package interop

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMixed: vaultdb and reference processes run a random mix of update,
// remove and prune (vaultdb's also batches of updates or removes, as
// import, mv and rm -r make) on shared directories of one store at once. At the end
// the independent decoder reads the store and the safety invariant holds
// (every document reachable through its directories), vaultdb's own full
// scan finds no damage, both implementations read the same documents, and
// no lock file is left.
func TestMixed(t *testing.T) {
	t.Parallel() // its own stores; the processes it starts share nothing with the others
	ref := reference(t)
	ops := envInt("VAULTDB_INTEROP_OPS", 30)
	runs := envInt("VAULTDB_INTEROP_MIX_RUNS", 1)
	for run := 0; run < runs; run++ {
		dir := newStore(t, 4)
		seed := time.Now().UnixNano()
		t.Logf("run %d: seed %d", run, seed)
		start := time.Now()
		var ps []*proc
		for i := 0; i < 2; i++ {
			ps = append(ps, goWorker(t, dir, fmt.Sprintf("mix %d %d", seed+int64(i), ops)))
			ps = append(ps, startRef(t, ref, dir, "mix", strconv.FormatInt((seed+int64(10+i))%1e9, 10), strconv.Itoa(ops)))
		}
		okOps, gaveUp := 0, 0
		written := map[string]bool{}
		for _, p := range ps {
			for _, l := range p.wait(t, false) {
				f := strings.Fields(l)
				switch {
				case f[0] == "ok":
					okOps++
					if f[1] == "update" {
						written[f[3]] = true
					}
				case strings.Contains(l, "too many conflicting writes") || strings.Contains(l, "gave up after"):
					gaveUp++ // vaultdb's bounded retries; nothing is half-done
				default:
					t.Errorf("%s: %s", p.name, l)
				}
			}
		}
		st := decode(t, dir)
		engineCheck(t, dir)
		for p, raw := range st.Docs {
			var v string
			if err := json.Unmarshal(raw, &v); err != nil || !written[v] && !strings.HasPrefix(v, "go-") {
				// Values of operations a worker did not see acknowledged
				// (a vaultdb give-up may still have written) start with
				// go-; every other value was acknowledged.
				t.Errorf("%s = %s: no worker wrote that", p, raw)
			}
		}
		// The reference reads exactly what the decoder reads.
		refDocs := refDump(t, ref, dir)
		if len(refDocs) != len(st.Docs) {
			t.Errorf("the reference finds %d documents, the decoder %d", len(refDocs), len(st.Docs))
		}
		for p, raw := range st.Docs {
			var a, b any
			got, ok := refDocs[p]
			if !ok || json.Unmarshal(got, &a) != nil || json.Unmarshal(raw, &b) != nil || a != b {
				t.Errorf("%s: the reference reads %s, the decoder %s", p, got, raw)
			}
		}
		if left := lockFiles(t, dir); len(left) > 0 {
			t.Errorf("lock files left after every writer finished: %v", left)
		}
		t.Logf("run %d: 2 vaultdb + 2 reference processes x %d operations: %d acknowledged, %d vaultdb give-ups, %d documents at the end, invariant holds: %v; %s",
			run, ops, okOps, gaveUp, len(st.Docs), st.Invariant() == nil, time.Since(start).Round(time.Millisecond))
	}
}

// refDump returns every document as the reference reads it.
func refDump(t *testing.T, ref, dir string) map[string]json.RawMessage {
	t.Helper()
	p := startRef(t, ref, dir, "dump")
	lines := p.wait(t, false)
	out := map[string]json.RawMessage{}
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &out) != nil {
		t.Fatalf("reference dump: %q", lines)
	}
	return out
}
