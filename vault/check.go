package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault/format"
)

// FindingKind is the kind of a problem a consistency check found (design §7).
type FindingKind string

// The kinds of finding. Only the last three can be repaired through the
// engine's normal operations; the others need the user (a backup).
const (
	// A shard blob that cannot be parsed as a whole: damaged header or
	// index. None of its items can be read.
	FindUnreadableShard FindingKind = "unreadable-shard"
	// A shard whose index and item lines disagree in number.
	FindCountMismatch FindingKind = "count-mismatch"
	// One item that fails to decrypt or parse (corruption or tampering).
	FindUnreadableItem FindingKind = "unreadable-item"
	// An item stored in a shard the router does not send its path to: the
	// engine never sees it.
	FindWrongShard FindingKind = "wrong-shard"
	// A shard of a later format version.
	FindUnsupportedShard FindingKind = "unsupported-shard"
	// A shard file the config's routing does not name: the config's
	// shards.n was altered (every entry then seems missing) or the file is
	// left from another store. Found only where blobs can be listed.
	FindStrayShard FindingKind = "stray-shard"
	// A shard of the config's layout sealed by a migration (reshard, key
	// rotation) that has not finished: resume it.
	FindSealedShard FindingKind = "sealed-shard"
	// A sealed file of a layout a finished migration left that still holds
	// the data it froze (the migration stopped before emptying it): resume
	// to empty it.
	FindFrozenSeal FindingKind = "frozen-seal"
	// A file of a retired layout is gone (deleted as a leftover?): a
	// client still routing by that layout (opened before the move, such as
	// a web page) finds no shard there and writes a new one that nobody
	// reads. Repair puts an emptied seal back.
	FindMissingSeal FindingKind = "missing-seal"
	// A file of a retired layout is a live shard again: a client of that
	// layout wrote it after its seal was deleted. What it holds is not in
	// the store; only a person can tell what to copy back. Repair seals it
	// (keeping what it holds), so that such a client is refused again; it
	// is reported until someone moves it away.
	FindLiveRetired FindingKind = "retired-live"

	// A directory lists a child that does not exist (tolerated drift).
	FindDanglingName FindingKind = "dangling-name"
	// A directory item with no children (drift; the engine drops
	// directories that empty).
	FindEmptyDir FindingKind = "empty-directory"
	// A directory its parent does not list (or whose parent is missing):
	// drift an interrupted update leaves (its links are independent of one
	// another), harmless as long as no document is below it.
	FindUnlinkedDir FindingKind = "unlinked-directory"
	// A document that no chain of directories from / reaches: the safety
	// invariant is broken and a recursive delete would never find it. This
	// would be a bug.
	FindUnreachable FindingKind = "unreachable"
)

// Repairable reports whether Repair can fix findings of kind k.
func (k FindingKind) Repairable() bool {
	return k == FindDanglingName || k == FindEmptyDir || k == FindUnreachable || k == FindUnlinkedDir || k == FindMissingSeal || k == FindLiveRetired
}

// Finding is one problem found by Check.
type Finding struct {
	Kind FindingKind
	Blob string // the shard the problem is in
	Path string // the item concerned, "" for a whole shard
	Name string // FindDanglingName: the missing child's name
	// Detail says more, e.g. the error; never a value.
	Detail string
}

func (f Finding) String() string {
	s := string(f.Kind) + " " + f.Blob
	if f.Path != "" {
		s += " " + f.Path
	}
	if f.Name != "" {
		s += " lists " + f.Name
	}
	if f.Detail != "" {
		s += ": " + f.Detail
	}
	return s
}

// ShardReport summarises one shard of a check.
type ShardReport struct {
	Blob    string
	Missing bool // no blob yet: an empty shard
	Items   int  // items in the index (0 if unreadable)
	OK      bool // the shard parsed and every item decrypted
}

// Report is the result of Check.
type Report struct {
	Shards   []ShardReport
	Docs     int // readable documents in the right shard
	Dirs     int // readable directories in the right shard
	Findings []Finding
}

// OK reports whether the check found nothing.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// InvariantHolds reports whether the safety invariant holds as far as the
// readable shards tell: no unreachable item.
func (r *Report) InvariantHolds() bool {
	for _, f := range r.Findings {
		if f.Kind == FindUnreachable {
			return false
		}
	}
	return true
}

// checkItem is one readable, correctly placed item.
type checkItem struct {
	blob  string
	names []string // directories only
}

// Check scans every shard of the store (design §7): it reads each shard blob
// once, decrypts every item and checks placement, directory listings and
// the safety invariant. It changes nothing. An error is returned only when
// a shard cannot be read at all (I/O); damage is reported as findings.
func (s *Store) Check(ctx context.Context) (*Report, error) {
	r := &Report{}
	items := map[string]checkItem{}
	unreadable := map[string]bool{} // blobs whose content is unknown
	damaged := map[string]bool{}    // items present but unreadable or misplaced
	for _, blob := range s.BlobIDs() {
		sr := ShardReport{Blob: blob}
		data, _, err := s.a.Read(ctx, blob)
		if errors.Is(err, adapters.ErrNotFound) {
			sr.Missing, sr.OK = true, true
			r.Shards = append(r.Shards, sr)
			continue
		}
		if err != nil {
			return nil, blobError("read", blob, err)
		}
		st, err := format.ParseShard(blob, data, s.keys.Cipher)
		if err != nil {
			unreadable[blob] = true
			r.Findings = append(r.Findings, s.diagnoseShard(blob, data, err))
			r.Shards = append(r.Shards, sr)
			continue
		}
		sr.Items, sr.OK = st.Len(), true
		for _, p := range st.Paths() {
			v, _, err := st.Get(p)
			if err != nil {
				sr.OK = false
				damaged[p] = true
				r.Findings = append(r.Findings, Finding{Kind: FindUnreadableItem, Blob: blob, Path: p, Detail: detail(err)})
				continue
			}
			if want := s.ShardOf(p); want != blob {
				// Its name in a directory is not dangling: leave it for the
				// user, who may want the value back.
				damaged[p] = true
				sr.OK = false
				r.Findings = append(r.Findings, Finding{Kind: FindWrongShard, Blob: blob, Path: p, Detail: "belongs in " + want})
				continue
			}
			it := checkItem{blob: blob}
			if format.IsDir(p) {
				names, err := format.ParseListing(p, v)
				if err != nil {
					sr.OK = false
					damaged[p] = true
					r.Findings = append(r.Findings, Finding{Kind: FindUnreadableItem, Blob: blob, Path: p, Detail: detail(err)})
					continue
				}
				it.names = names
				r.Dirs++
			} else {
				r.Docs++
			}
			items[p] = it
		}
		r.Shards = append(r.Shards, sr)
	}
	// known reports whether p's existence is known: its shard was readable.
	known := func(p string) bool { return !unreadable[s.ShardOf(p)] && !damaged[p] }
	paths := make([]string, 0, len(items))
	for p := range items {
		paths = append(paths, p)
	}
	format.Sort(paths)
	for _, p := range paths {
		it := items[p]
		if format.IsDir(p) {
			if len(it.names) == 0 {
				r.Findings = append(r.Findings, Finding{Kind: FindEmptyDir, Blob: it.blob, Path: p})
			}
			for _, n := range it.names {
				child := p + n
				if _, ok := items[child]; !ok && known(child) && format.CheckPath(child) == nil {
					r.Findings = append(r.Findings, Finding{Kind: FindDanglingName, Blob: it.blob, Path: p, Name: n})
				}
			}
		}
		if p == "/" {
			continue
		}
		// Walk up to /: the first broken edge, if any.
		for c := p; c != "/"; c = format.Parent(c) {
			parent := format.Parent(c)
			pi, ok := items[parent]
			var why string
			switch {
			case ok && slices.Contains(pi.names, format.Name(c)):
				continue
			case !ok && !known(parent):
				// The parent's shard is unreadable: already reported.
			case !ok:
				why = "directory " + parent + " does not exist"
			default:
				why = parent + " does not list " + format.Name(c)
			}
			if why != "" {
				kind := FindUnreachable
				if format.IsDir(p) {
					kind = FindUnlinkedDir
				}
				r.Findings = append(r.Findings, Finding{Kind: kind, Blob: it.blob, Path: p, Detail: why})
			}
			break
		}
	}
	frozen, err := s.frozenSeals(ctx)
	if err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, frozen...)
	return r, nil
}

// frozenSeals checks the sealed files of retired layouts: each must be
// there (a move seals every file of the layout it leaves, absent ones
// too), sealed, and emptied of what it froze.
func (s *Store) frozenSeals(ctx context.Context) ([]Finding, error) {
	if s.cfg == nil {
		return nil, nil
	}
	var out []Finding
	live := s.BlobIDs() // sorted
	// A migration under way back to a retired layout writes its files
	// live before its switch: they are its own, with what clients of that
	// layout wrote on top, which its resume keeps (see descends). Sealing
	// them again (--repair) would make the resume write over them.
	pending, err := s.pendingMigration(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range s.cfg.Retired() {
		if pending != nil && pending.To == r.N {
			continue
		}
		for _, blob := range format.NewRouter(nil, r.N).BlobIDs() {
			if _, found := slices.BinarySearch(live, blob); found {
				continue
			}
			data, _, err := s.a.Read(ctx, blob)
			if errors.Is(err, adapters.ErrNotFound) || err == nil && len(data) == 0 {
				out = append(out, Finding{Kind: FindMissingSeal, Blob: blob,
					Detail: fmt.Sprintf("the sealed file the reshard from %d shards left is gone: a client still using that layout would write there unseen", r.N)})
				continue
			}
			if err != nil {
				return nil, blobError("read", blob, err)
			}
			seal, frozen, err := format.ParseSealed(blob, data)
			switch {
			case err == nil && seal == nil:
				out = append(out, Finding{Kind: FindLiveRetired, Blob: blob,
					Detail: fmt.Sprintf("a shard of the layout of %d shards the store left holds data: a client of that layout wrote it after the move, and what it holds is not in the store", r.N)})
			case seal != nil && seal.ID != r.ID && frozen != nil:
				out = append(out, Finding{Kind: FindLiveRetired, Blob: blob,
					Detail: fmt.Sprintf("a shard of the layout of %d shards the store left, sealed again by fsck --repair, holds what a client of that layout wrote after the move: it is not in the store", r.N)})
			case seal != nil && frozen != nil:
				out = append(out, Finding{Kind: FindFrozenSeal, Blob: blob,
					Detail: fmt.Sprintf("still holds what the reshard from %d shards froze", r.N)})
			}
		}
	}
	return out, nil
}

// StrayShards returns a finding for every blob id in present (the blobs at
// the store's location, where they can be listed) that names a shard the
// config's routing does not: after shards.n is changed, the engine reads
// shards that do not exist and the store looks empty, so Check alone
// reports nothing. Ids that are not shard names are ignored.
//
// The files of layouts a migration left (sealed), and those of the layout a
// migration under way is writing, are expected; telling the second kind
// costs one read, done only when there are candidates.
func (s *Store) StrayShards(ctx context.Context, present []string) ([]Finding, error) {
	var out []Finding
	// Each file is checked against the layouts' routers, which parse its
	// name: this runs before every command on a local store, and building
	// the list of the config's blob ids anew for each file made a get on a
	// store of 1,024 shards cost a million Sprintf calls (175 ms of CPU
	// against 7 ms for the get itself).
	layouts := []*format.Router{s.router}
	add := func(n int) { layouts = append(layouts, format.NewRouter(nil, n)) }
	known := func(id string) bool {
		return slices.ContainsFunc(layouts, func(r *format.Router) bool { return r.Names(id) })
	}
	retired := func(cfg *format.Config) {
		for _, r := range cfg.Retired() {
			add(r.N)
		}
	}
	if s.cfg != nil {
		retired(s.cfg)
	}
	pendingRead := false
	for _, id := range present {
		if !IsShardID(id) || known(id) {
			continue
		}
		if !pendingRead {
			pendingRead = true
			if s.cfg == nil {
				// Opened with keys alone (an agent's): the config tells
				// which layouts were retired. If it names another shard
				// count, the files are strays for this store as opened.
				if cfg, err := s.readConfig(ctx); err == nil && cfg.Shards() == s.Shards() {
					retired(cfg)
					if known(id) {
						continue
					}
				}
			}
			seal, err := s.pendingMigration(ctx)
			if err != nil {
				return nil, err
			}
			if seal != nil {
				add(seal.To)
				if known(id) {
					continue
				}
			}
		}
		out = append(out, Finding{Kind: FindStrayShard, Blob: id,
			Detail: fmt.Sprintf("a shard file the config (shards.n = %d) does not name: the config was altered, or the file is left from another store", s.Shards())})
	}
	return out, nil
}

// readConfig reads and parses the config as it is now.
func (s *Store) readConfig(ctx context.Context) (*format.Config, error) {
	data, _, err := s.readBlob(ctx, ConfigBlob)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, ErrNoStore
	}
	return format.ParseConfig(data)
}

// pendingMigration returns the seal of the migration under way, if the
// config's layout is being left: its first shard is sealed.
func (s *Store) pendingMigration(ctx context.Context) (*format.Seal, error) {
	claim := s.BlobIDs()[0]
	data, _, err := s.readBlob(ctx, claim)
	if err != nil {
		return nil, err
	}
	seal, _, err := format.ParseSealed(claim, data)
	if err != nil {
		return nil, nil // damaged: Check reports it
	}
	return seal, nil
}

// IsShardID reports whether id has the form of a shard blob id,
// "shard-SSSS-EEEE" in lowercase hexadecimal.
func IsShardID(id string) bool {
	if len(id) != len("shard-0000-0000") || !strings.HasPrefix(id, "shard-") || id[10] != '-' {
		return false
	}
	for i, c := range id[6:] {
		if i == 4 {
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// diagnoseShard turns a shard parse failure into a finding.
func (s *Store) diagnoseShard(blob string, data []byte, err error) Finding {
	var moved *format.MovedError
	if errors.As(err, &moved) {
		return Finding{Kind: FindSealedShard, Blob: blob,
			Detail: fmt.Sprintf("sealed by a reshard to %d shards started %s that has not finished", moved.Seal.To, moved.Seal.At)}
	}
	if errors.Is(err, format.ErrUnsupportedVersion) {
		return Finding{Kind: FindUnsupportedShard, Blob: blob, Detail: detail(err)}
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) >= 2 {
		if pt, derr := format.DecryptItem(s.keys.Cipher, lines[1]); derr == nil {
			var paths []string
			if json.Unmarshal(pt, &paths) == nil && len(paths) != len(lines)-2 {
				return Finding{Kind: FindCountMismatch, Blob: blob,
					Detail: fmt.Sprintf("index lists %d items but the shard has %d item lines", len(paths), len(lines)-2)}
			}
		}
	}
	return Finding{Kind: FindUnreadableShard, Blob: blob, Detail: detail(err)}
}

// detail is the innermost message of a format error, without the shard
// name the finding carries anyway.
func detail(err error) string {
	var ce *format.CorruptError
	if errors.As(err, &ce) && ce.Err != nil {
		return ce.Err.Error()
	}
	return err.Error()
}

// Repair is one change Repair made (or tried).
type Repair struct {
	Finding Finding
	Action  string // what was done: "re-linked", "dropped name", "dropped empty directory"
	Err     error  // nil when it succeeded
}

func (r Repair) String() string {
	s := r.Action + " " + r.Finding.Path
	if r.Finding.Name != "" {
		s = r.Action + " " + r.Finding.Name + " from " + r.Finding.Path
	}
	if r.Err != nil {
		s += ": failed: " + r.Err.Error()
	}
	return s
}

// Repair fixes the repairable findings of rep through the engine's normal
// operations, one task per change, never deleting a document:
//
//   - an unreachable document is re-written with its own value (relink),
//     which links every missing edge above it;
//   - a dangling name of a missing document is dropped by Remove of that
//     document, of a missing directory by Prune of that directory, each
//     only after the same task saw the child absent;
//   - an empty directory, and an unlinked directory with no documents
//     below it, is dropped by Prune, only after the same task saw nothing
//     below it; an unlinked directory with documents below is re-linked
//     by re-writing one of them.
//
// The operations of Repair run with no retry after a conflict: a
// conflicting write means another client is at work, and a re-planned Prune
// or Remove could then see (and delete) a document that client just wrote.
// Such a repair fails with ErrTooManyConflicts; run the check again.
func (s *Store) Repair(ctx context.Context, rep *Report) []Repair {
	rs := *s
	rs.opts.MaxConflicts = 0 // the first conflict ends the operation
	var out []Repair
	// do runs fn in a new task; fn may change *action to say what it did.
	do := func(f Finding, action string, fn func(t *Task, action *string) (bool, error)) {
		done, err := fn(rs.NewTask(ctx), &action)
		if done || err != nil {
			out = append(out, Repair{Finding: f, Action: action, Err: err})
		}
	}
	// Documents first: re-linking them may make directories reachable.
	var later []Finding
	for _, f := range rep.Findings {
		if f.Kind != FindUnreachable {
			later = append(later, f)
			continue
		}
		do(f, "re-linked", func(t *Task, action *string) (bool, error) {
			return true, t.relink(ctx, f.Path)
		})
	}
	relinked := map[string]bool{}
	for _, r := range out {
		if r.Err == nil {
			for _, a := range format.Ancestors(r.Finding.Path) {
				relinked[a] = true
			}
		}
	}
	for _, f := range later {
		switch f.Kind {
		case FindDanglingName:
			child := f.Path + f.Name
			if format.IsDir(child) {
				do(f, "dropped name", func(t *Task, action *string) (bool, error) {
					names, err := t.List(ctx, child)
					if err != nil || len(names) > 0 {
						return false, err
					}
					if _, ok, err := t.item(ctx, child); err != nil || ok {
						return false, err
					}
					return true, t.Prune(ctx, child)
				})
			} else {
				do(f, "dropped name", func(t *Task, action *string) (bool, error) {
					if _, ok, err := t.item(ctx, child); err != nil || ok {
						return false, err
					}
					return true, t.Remove(ctx, child)
				})
			}
		case FindEmptyDir, FindUnlinkedDir:
			if f.Kind == FindUnlinkedDir && relinked[f.Path] {
				continue
			}
			action := "dropped empty directory"
			if f.Kind == FindUnlinkedDir {
				action = "dropped unlinked directory"
			}
			do(f, action, func(t *Task, action *string) (bool, error) {
				docs, err := t.Find(ctx, f.Path)
				if err != nil {
					return false, err
				}
				if len(docs) > 0 {
					if f.Kind == FindEmptyDir {
						return false, nil // no longer empty
					}
					// Documents below an unlinked directory: re-writing
					// one links the whole chain above it.
					*action = "re-linked"
					return true, t.relink(ctx, docs[0])
				}
				if _, exists, err := t.item(ctx, f.Path); err != nil || !exists {
					return false, err
				}
				return true, t.Prune(ctx, f.Path)
			})
		case FindMissingSeal, FindLiveRetired:
			do(f, "sealed again", func(*Task, *string) (bool, error) {
				return rs.resealRetired(ctx, f.Blob)
			})
		}
	}
	return out
}

// resealRetired seals a retired layout's file again where it is missing
// or live, so that a client of that layout is refused again. A missing
// file gets an emptied seal of the move that retired the layout; a live
// one is sealed under a new id keeping what it holds (a resume empties
// only the seals of the move itself). It reports false when the file is
// sealed already.
func (s *Store) resealRetired(ctx context.Context, blob string) (bool, error) {
	for _, r := range s.cfg.Retired() {
		if _, found := slices.BinarySearch(format.NewRouter(nil, r.N).BlobIDs(), blob); !found {
			continue
		}
		data, rev, err := s.readBlob(ctx, blob)
		if err != nil {
			return false, err
		}
		if old, _, err := format.ParseSealed(blob, data); err != nil || old != nil {
			return false, err
		}
		seal, err := format.NewSeal(s.opts.Rand, s.Shards(), time.Now())
		if err != nil {
			return false, err
		}
		if len(data) == 0 {
			seal.ID = r.ID
		}
		out, err := format.EncodeSeal(s.opts.Rand, seal, data)
		if err != nil {
			return false, err
		}
		// Against the revision read: a client writing it meanwhile makes
		// this fail, and the next check reports the file again.
		if _, err := s.a.Write(ctx, blob, out, rev); err != nil {
			return false, blobError("write", blob, err)
		}
		return true, nil
	}
	return false, fmt.Errorf("%s is not a file of a retired layout", blob)
}

// item reads the raw item at p (document or directory) through the task.
func (t *Task) item(ctx context.Context, p string) (json.RawMessage, bool, error) {
	st, err := t.shardFor(ctx, p)
	if err != nil {
		return nil, false, err
	}
	return st.Get(p)
}
