package vaultsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/vaultdb/vaultdb/internal/specdecode"
	"github.com/vaultdb/vaultdb/vault"
)

// check decodes the final store with the independent decoder and checks the
// safety invariant and that every document's value is one that some
// linearization of the calls allows.
func check(w *world) []string {
	if err := finishMigration(w); err != nil {
		return []string{"finishing a stopped migration: " + err.Error()}
	}
	dec, err := specdecode.Decode(w.mem.Blobs(), passphrase)
	if err != nil {
		return []string{"decode: " + err.Error()}
	}
	var problems []string
	if last := lastAckedMigration(w); last != nil && !countAllowed(w, last, dec.Shards) {
		problems = append(problems, fmt.Sprintf("%s succeeded last, but the store has %d shards", last.call, dec.Shards))
	}
	if err := dec.Invariant(); err != nil {
		problems = append(problems, "invariant: "+err.Error())
	}
	problems = append(problems, linearizable(w, dec)...)
	if len(w.clients) == 1 && w.sc.Crashes == 0 && w.sc.LostReplies == 0 && w.sc.Faults == 0 && allAcked(w) {
		problems = append(problems, tidy(dec)...)
	}
	return problems
}

func allAcked(w *world) bool {
	for _, c := range w.clients {
		for _, cs := range c.calls {
			if !cs.done || cs.err != nil {
				return false
			}
		}
	}
	return true
}

// tidy checks that calls which all succeeded, with no crash, left no
// drift: no directory names a missing child (a ghost in ls) and no empty
// directory stays behind.
func tidy(dec *specdecode.Store) []string {
	var problems []string
	for d, names := range dec.Dirs {
		if len(names) == 0 && d != "/" {
			problems = append(problems, fmt.Sprintf("drift: empty directory %s left behind", d))
		}
		for _, n := range names {
			p := d + n
			_, isDoc := dec.Docs[p]
			_, isDir := dec.Dirs[p]
			if !isDoc && !isDir {
				problems = append(problems, fmt.Sprintf("drift: %s lists %q, which does not exist", d, n))
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// effect is what a call does to one document: a value, or absent ("").
type effect struct {
	cs    *callState
	value string
}

// linearizable checks each document on its own (the engine promises no
// multi-document atomicity). A call that returned nil is acknowledged; a
// call that failed, or whose client crashed, may or may not have applied,
// but never half. The final value must be the effect of some call X that
// no acknowledged call on the same document follows in real time (X ended
// before it started), or the initial value if no call on the document was
// acknowledged.
func linearizable(w *world, dec *specdecode.Store) []string {
	docs := map[string]bool{}
	for p := range w.sc.Setup {
		docs[p] = true
	}
	for _, calls := range w.sc.Clients {
		for _, c := range everyCall(calls) {
			if c.Kind == Update || c.Kind == Delete || c.Kind == Remove {
				docs[c.Path] = true
			}
		}
	}
	var problems []string
	for p := range dec.Docs {
		if !docs[p] {
			problems = append(problems, fmt.Sprintf("document %s appeared from nowhere", p))
		}
	}
	paths := make([]string, 0, len(docs))
	for p := range docs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		var effs []effect
		for _, c := range w.clients {
			for _, cs := range c.calls {
				switch {
				case cs.call.Kind == Update && cs.call.Path == p:
					effs = append(effs, effect{cs, compact(cs.call.Value)})
				case (cs.call.Kind == Delete || cs.call.Kind == Remove) && cs.call.Path == p:
					effs = append(effs, effect{cs, ""})
				case cs.call.Kind == Prune && strings.HasPrefix(p, cs.call.Path):
					effs = append(effs, effect{cs, ""})
				}
			}
		}
		acked := func(cs *callState) bool { return cs.done && cs.err == nil }
		allowed := map[string]bool{}
		anyAcked := false
		for _, e := range effs {
			if acked(e.cs) {
				anyAcked = true
			}
			overwritten := false
			for _, f := range effs {
				if f.cs != e.cs && acked(f.cs) && e.cs.end < f.cs.start {
					overwritten = true
				}
			}
			if !overwritten {
				allowed[e.value] = true
			}
		}
		if !anyAcked {
			allowed[compact(w.sc.Setup[p])] = true
		}
		got := ""
		if v, ok := dec.Docs[p]; ok {
			got = compact(string(v))
		}
		if !allowed[got] {
			var want []string
			for v := range allowed {
				if v == "" {
					v = "absent"
				}
				want = append(want, v)
			}
			sort.Strings(want)
			show := got
			if show == "" {
				show = "absent"
			}
			problems = append(problems, fmt.Sprintf("document %s is %s; the calls allow only %s", p, show, strings.Join(want, " or ")))
		}
	}
	return problems
}

func compact(v string) string {
	if v == "" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(v)); err != nil {
		return v
	}
	return b.String()
}

// callsSummary renders every call with its outcome, for failure messages.
func callsSummary(w *world) string {
	var b strings.Builder
	for _, c := range w.clients {
		for _, cs := range c.calls {
			res := "ok"
			switch {
			case !cs.done:
				res = "never returned (client crashed)"
			case cs.err != nil:
				res = "error: " + cs.err.Error()
			}
			fmt.Fprintf(&b, "    c%d %s steps %d..%d: %s\n", c.id, cs.call, cs.start, cs.end, res)
		}
	}
	return b.String()
}

// finishMigration resumes a migration the schedule left half-done (its
// client crashed or gave up), as a user would with "vaultdb reshard
// --resume": the store's content is what the resumed migration gives.
func finishMigration(w *world) error {
	ctx := context.Background()
	s, err := vault.Open(ctx, w.mem, []byte(passphrase), vault.Options{Backoff: -1})
	if err != nil {
		return err
	}
	_, err = s.ResumeMigration(ctx, []byte(passphrase))
	return err
}

// lastAckedMigration is the successful migration that ended last.
func lastAckedMigration(w *world) *callState {
	var last *callState
	for _, c := range w.clients {
		for _, cs := range c.calls {
			if cs.call.Kind == Migrate && cs.done && cs.err == nil && (last == nil || cs.end > last.end) {
				last = cs
			}
		}
	}
	return last
}
