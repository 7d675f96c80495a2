package vault

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault/format"
)

// A migration moves a live store to another shard layout: another shard
// count (a reshard) and, for a key rotation, new keys. The design and its
// failure analysis are in docs/design.md §8; in short:
//
//  1. Read and check every shard of the old layout.
//  2. Seal them, the first one (the claim) before the others: each is
//     replaced, by compare-and-swap against what was read, with a sealed
//     copy of itself (format.EncodeSeal). From then on no client of the old
//     layout can change it: its writes conflict, and it cannot read the
//     sealed shard (the reference cannot either: it fails instead of
//     writing). What the seals froze is the store's content.
//  3. Write the new layout's shards from the frozen content. No client
//     reads them yet: the config still names the old layout.
//  4. Switch the config (compare-and-swap) to the new layout, recording the
//     old one as retired.
//  5. Empty the seals: they keep their marker, so that a client that still
//     routes by the old config fails, but no longer the frozen data.
//
// Any client holding the keys can finish a migration that stopped after its
// claim was sealed (ResumeMigration): every step can be repeated and
// recognises its own work by the migration's id.

// ErrMigrating matches a *MigratingError.
var ErrMigrating = errors.New("a reshard of the store is under way")

// MigratingError reports that a migration holds the store: its claim shard
// is sealed and the config still names the old layout. Either it is
// running, or it stopped (a crash, a lost connection) and must be resumed.
type MigratingError struct {
	Blob string
	Seal format.Seal
}

func (e *MigratingError) Error() string {
	return fmt.Sprintf("a reshard to %d shards started %s holds the store (shard %s is sealed)", e.Seal.To, e.Seal.At, e.Blob)
}

func (e *MigratingError) Is(target error) bool { return target == ErrMigrating }

// MigrateOptions say where a migration goes.
type MigrateOptions struct {
	// Shards is the shard count to move to. The new layout must share no
	// shard file name with the current one (CheckLayout).
	Shards int
	// RotateKeys makes new cipher and routing keys: every item is
	// re-encrypted, and the old passphrase with an old copy of the config
	// no longer opens what is written afterwards.
	RotateKeys bool
	// Passphrase is the store's passphrase, needed with RotateKeys to wrap
	// the new keys.
	Passphrase []byte
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// MigrateResult says what a migration did.
type MigrateResult struct {
	ID       string
	From, To int
	// Items is how many items (documents and directories) the new layout
	// holds.
	Items int
	// Unrouted counts items found in a shard their path does not route to:
	// no client could reach them, and they are left behind.
	Unrouted int
	// Resumed is set when the migration was started by another run.
	Resumed bool
	// Rotated is set when the keys changed.
	Rotated bool
}

// CheckLayout reports whether a store of from shards can move to to
// shards: the two layouts must not share a shard file name, because a
// sealed file of the old layout cannot also be a live file of the new one.
func CheckLayout(from, to int) error {
	if to < 1 || to > format.MaxShards {
		return fmt.Errorf("shard count %d out of range 1..%d", to, format.MaxShards)
	}
	if from == to {
		return fmt.Errorf("the store has %d shards already", to)
	}
	old := format.NewRouter(nil, from).BlobIDs()
	for _, id := range format.NewRouter(nil, to).BlobIDs() {
		if _, found := slices.BinarySearch(old, id); found {
			return fmt.Errorf("%d and %d shards share the file %s; choose another count", from, to, id)
		}
	}
	return nil
}

// Migrate moves the store to another layout (see the comment at the top
// of this file). The store must have been opened with the passphrase or
// its keys; the config is read again first. If another migration holds the
// store, it fails with a *MigratingError and changes nothing.
func (s *Store) Migrate(ctx context.Context, mo MigrateOptions) (*MigrateResult, error) {
	l, err := Locate(ctx, s.a, s.opts)
	if err != nil {
		return nil, err
	}
	from := l.cfg.Shards()
	if err := CheckLayout(from, mo.Shards); err != nil {
		return nil, err
	}
	if err := l.cfg.CheckReshard(mo.Shards); err != nil {
		return nil, err
	}
	if mo.RotateKeys && len(mo.Passphrase) == 0 {
		return nil, errors.New("a key rotation needs the passphrase")
	}
	now := time.Now
	if mo.Now != nil {
		now = mo.Now
	}
	seal, err := format.NewSeal(s.opts.Rand, mo.Shards, now())
	if err != nil {
		return nil, err
	}
	newKeys := s.keys
	if mo.RotateKeys {
		if newKeys, err = format.NewKeys(s.opts.Rand); err != nil {
			return nil, err
		}
		salt := make([]byte, 32)
		if _, err := io.ReadFull(s.opts.Rand, salt); err != nil {
			return nil, err
		}
		seal.KeysSalt, seal.KeysIter = base64.StdEncoding.EncodeToString(salt), l.cfg.Iterations()
		wk, err := s.opts.KDF(ctx, mo.Passphrase, seal.KDFParams())
		if err != nil {
			return nil, err
		}
		seal.Keys, err = format.SealKeys(s.opts.Rand, wk, newKeys)
		clear(wk)
		if err != nil {
			return nil, err
		}
	}
	m := s.migration(l.cfg, seal, newKeys, mo.Passphrase)
	// Check everything before sealing anything: a damaged shard found
	// half-way would leave a store only a resume can open again.
	first, err := m.readOld(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := m.checkNewFree(ctx)
	if err != nil {
		return nil, err
	}
	if err := m.sealMissing(ctx, cur); err != nil {
		return nil, err
	}
	return m.run(ctx, first)
}

// ResumeMigration finishes a migration that another run started and did
// not finish: one whose claim is sealed while the config names the old
// layout, or one that switched the config but left frozen data in its
// seals. passphrase is needed only for a key rotation. With nothing to
// finish it returns a nil result.
func (s *Store) ResumeMigration(ctx context.Context, passphrase []byte) (*MigrateResult, error) {
	l, err := Locate(ctx, s.a, s.opts)
	if err != nil {
		return nil, err
	}
	from := l.cfg.Shards()
	claim := format.NewRouter(s.keys.Router, from).BlobID(0)
	data, _, err := s.readBlob(ctx, claim)
	if err != nil {
		return nil, err
	}
	seal, _, err := format.ParseSealed(claim, data)
	if err != nil {
		return nil, err
	}
	if seal == nil {
		// Not under way: perhaps done but for emptying its seals.
		return s.emptyRetired(ctx, l.cfg)
	}
	// The count comes from the store: check it as a new migration's is
	// checked, before anything is written.
	if err := CheckLayout(from, seal.To); err != nil {
		return nil, &format.CorruptError{Blob: claim, Err: fmt.Errorf("its seal names a layout no move can go to: %w", err)}
	}
	newKeys := s.keys
	if seal.Keys != "" {
		if len(passphrase) == 0 {
			return nil, errors.New("this migration rotates the keys: it needs the passphrase")
		}
		wk, err := s.opts.KDF(ctx, passphrase, seal.KDFParams())
		if err != nil {
			return nil, err
		}
		newKeys, err = format.OpenSealKeys(wk, seal.Keys)
		clear(wk)
		if err != nil {
			return nil, fmt.Errorf("the passphrase does not open the new keys in %s (the rotation needs the passphrase it started with): %w", claim, err)
		}
	}
	m := s.migration(l.cfg, *seal, newKeys, passphrase)
	first, err := m.readAll(ctx, m.oldIDs)
	if err != nil {
		return nil, err
	}
	res, err := m.run(ctx, first)
	if res != nil {
		res.Resumed = true
	}
	return res, err
}

func (s *Store) migration(cfg *format.Config, seal format.Seal, newKeys *format.Keys, passphrase []byte) *migration {
	from := cfg.Shards()
	return &migration{
		s: s, from: from, retired: cfg.Retired(), seal: seal,
		oldKeys: s.keys, newKeys: newKeys, passphrase: passphrase,
		oldIDs: format.NewRouter(s.keys.Router, from).BlobIDs(),
		newIDs: format.NewRouter(newKeys.Router, seal.To).BlobIDs(),
	}
}

type migration struct {
	s    *Store
	from int
	// retired is the config's list of retired layouts when this run
	// located the store. With from it names the store's era: every switch
	// of the config appends a new migration id to the list, so a list
	// equal to this one means that no migration has switched the config
	// since (see era).
	retired          []format.Retired
	seal             format.Seal
	oldKeys, newKeys *format.Keys
	passphrase       []byte
	oldIDs, newIDs   []string
}

// blobState is one blob as read: its data (nil if absent) and revision.
type blobState struct {
	data []byte
	rev  adapters.Rev
}

func (s *Store) readBlob(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	data, rev, err := s.a.Read(ctx, id)
	if errors.Is(err, adapters.ErrNotFound) {
		return nil, adapters.NoRev, nil
	}
	if err != nil {
		return nil, "", blobError("read", id, err)
	}
	return data, rev, nil
}

// readAll reads the blobs ids in parallel.
func (m *migration) readAll(ctx context.Context, ids []string) ([]blobState, error) {
	out := make([]blobState, len(ids))
	err := parallel(ctx, len(ids), func(i int) error {
		data, rev, err := m.s.readBlob(ctx, ids[i])
		out[i] = blobState{data, rev}
		return err
	})
	return out, err
}

// ErrOvertaken matches the error of a migration run that found the store's
// layout changed by others since it located the store.
var ErrOvertaken = errors.New("the store was moved by another run meanwhile")

// era reads the config and reports whether this migration has switched it.
// Any other change of layout since the run located the store is an error
// matching ErrOvertaken.
//
// A run can be stopped for any time (a suspended laptop, a hanging
// request) while another run finishes its migration and later ones move
// the store on, even back to the layout this run is leaving. Its state is
// then from another era: sealing a live shard with its id would leave a
// store no resume can open, and writing its new layout from what it froze
// long ago and switching the config to it would lose every write since.
// So every write of a run is made only after a read of the config that
// comes later than the read of the blob being replaced finds the era the
// run started in: the compare-and-swap then proves that the blob has not
// changed since a moment the era was still the same.
func (m *migration) era(ctx context.Context) (switched bool, err error) {
	cfg, err := m.s.readConfig(ctx)
	if err != nil {
		return false, err
	}
	return m.eraOf(cfg)
}

func (m *migration) eraOf(cfg *format.Config) (switched bool, err error) {
	if m.isSwitched(cfg) {
		return true, nil
	}
	if cfg.Shards() != m.from || !slices.Equal(cfg.Retired(), m.retired) {
		return false, fmt.Errorf("%w: the config now names %d shards and another history of moves; this run of the reshard to %d shards stops without writing anything more",
			ErrOvertaken, cfg.Shards(), m.seal.To)
	}
	return false, nil
}

// unswitched is era for a step that must come before the switch.
func (m *migration) unswitched(ctx context.Context) error {
	switched, err := m.era(ctx)
	if err == nil && switched {
		err = fmt.Errorf("%w: the config names the new layout already", ErrOvertaken)
	}
	return err
}

func (m *migration) rotating() bool {
	return subtle.ConstantTimeCompare(m.oldKeys.Cipher, m.newKeys.Cipher) != 1
}

// readOld reads every shard of the old layout and checks that it can be
// moved: not sealed, and (for a rotation) every item decrypts.
func (m *migration) readOld(ctx context.Context) ([]blobState, error) {
	out := make([]blobState, len(m.oldIDs))
	router := format.NewRouter(m.oldKeys.Router, m.from)
	err := parallel(ctx, len(m.oldIDs), func(i int) error {
		data, rev, err := m.s.readBlob(ctx, m.oldIDs[i])
		if err != nil {
			return err
		}
		sh, err := m.frozenShard(m.oldIDs[i], data)
		if err != nil {
			return err
		}
		// An item where its path does not route is invisible to every
		// command but may be wanted back (fsck reports it): the move
		// would leave it behind in a seal, so it does not start.
		for _, p := range sh.Paths() {
			if router.ShardOf(p) != i {
				return &format.CorruptError{Blob: m.oldIDs[i], Err: errors.New(
					"it holds an item its path does not route to (fsck reports it as wrong-shard); recover it before moving the store")}
			}
		}
		out[i] = blobState{data, rev}
		return nil
	})
	return out, err
}

// checkNewFree checks, before anything is sealed, that no file where the
// new layout goes holds data: step 3 would stop there with every shard
// sealed, a store no command can use until someone moves the file away.
// It returns the files as read.
func (m *migration) checkNewFree(ctx context.Context) ([]blobState, error) {
	cur, err := m.readAll(ctx, m.newIDs)
	if err != nil {
		return nil, err
	}
	for i, st := range cur {
		seal, _, err := format.ParseSealed(m.newIDs[i], st.data)
		if err != nil {
			return nil, err
		}
		if len(st.data) > 0 && seal == nil {
			return nil, fmt.Errorf("the file %s, where the store's new layout goes, holds data: left from another store, or written by a client of a layout the store left after its sealed file was deleted, and then not in the store (fsck reports it): move it out of the store's folder, keeping it, then run the reshard again", m.newIDs[i])
		}
	}
	return cur, nil
}

// sealMissing seals again the missing files of the new layout when the
// store had that layout before (a move back): the move away sealed every
// one of them, so a missing one was deleted (they look like leftovers),
// and a client still routing by that layout (a web page left open: the
// reference never reads the config again) would create it, live, while
// this migration runs, with none of this migration's items. Sealed, it
// refuses that client; descends relies on it. Done before the claim is
// sealed, after a read of the config that finds this run's era, and only
// where the file is still absent: it changes nothing a client reads.
func (m *migration) sealMissing(ctx context.Context, cur []blobState) error {
	var missing []int
	for i, st := range cur {
		if st.data == nil {
			missing = append(missing, i)
		}
	}
	i := slices.IndexFunc(m.retired, func(r format.Retired) bool { return r.N == m.seal.To })
	if i < 0 || len(missing) == 0 {
		return nil
	}
	retiredBy := m.retired[i].ID
	if err := m.unswitched(ctx); err != nil {
		return err
	}
	return parallel(ctx, len(missing), func(j int) error {
		id := m.newIDs[missing[j]]
		// An emptied seal of the move that left the layout, as fsck
		// --repair writes it.
		seal := format.Seal{ID: retiredBy, To: m.from, At: m.seal.At}
		blob, err := format.EncodeSeal(m.s.opts.Rand, seal, nil)
		if err != nil {
			return err
		}
		if _, err := m.s.a.Write(ctx, id, blob, adapters.NoRev); err != nil {
			return fmt.Errorf("sealing again the missing file %s of the layout of %d shards (nothing else was written; run the reshard again): %w", id, m.seal.To, blobError("write", id, err))
		}
		return nil
	})
}

// frozenShard parses a live shard of the old layout; a seal is a
// *MigratingError.
func (m *migration) frozenShard(id string, data []byte) (*format.Shard, error) {
	seal, _, err := format.ParseSealed(id, data)
	if err != nil {
		return nil, err
	}
	if seal != nil {
		return nil, &MigratingError{Blob: id, Seal: *seal}
	}
	sh, err := format.ParseShard(id, data, m.oldKeys.Cipher)
	if err != nil {
		return nil, err
	}
	if m.rotating() {
		if _, err := sh.Rekeyed(); err != nil {
			return nil, err
		}
	}
	return sh, nil
}

// run does steps 2 to 5; first is what readOld read, or nil on a resume.
func (m *migration) run(ctx context.Context, first []blobState) (*MigrateResult, error) {
	frozen := make([][]byte, len(m.oldIDs))
	// One read of the config after the reads of first covers them all.
	if switched, err := m.era(ctx); err != nil || switched {
		if err == nil {
			// Finished by another run: perhaps but for its seals.
			err = m.emptySeals(ctx, m.oldIDs, m.seal.ID)
		}
		if err != nil {
			return nil, err
		}
		return &MigrateResult{ID: m.seal.ID, From: m.from, To: m.seal.To, Rotated: m.rotating()}, nil
	}
	// The claim first: whoever seals it owns the migration.
	var err error
	if frozen[0], err = m.sealOne(ctx, 0, &first[0]); err != nil {
		return nil, err
	}
	err = parallel(ctx, len(m.oldIDs)-1, func(i int) error {
		var err error
		frozen[i+1], err = m.sealOne(ctx, i+1, &first[i+1])
		return err
	})
	if err != nil && !errors.Is(err, ErrOvertaken) {
		err = fmt.Errorf("%w (the store is sealed for a reshard: finish it with a resume)", err)
	}
	if err != nil {
		return nil, err
	}
	res := &MigrateResult{ID: m.seal.ID, From: m.from, To: m.seal.To, Rotated: m.rotating()}
	shards, err := m.newShards(frozen, res)
	if err != nil {
		return nil, err
	}
	cur, err := m.readAll(ctx, m.newIDs)
	if err != nil {
		return nil, err
	}
	switched, err := m.era(ctx)
	if err != nil {
		return nil, err
	}
	if !switched {
		err = parallel(ctx, len(m.newIDs), func(i int) error { return m.writeNew(ctx, i, shards[i], cur[i]) })
		if err != nil {
			return nil, err
		}
	}
	if err := m.switchConfig(ctx); err != nil {
		return nil, err
	}
	if err := m.emptySeals(ctx, m.oldIDs, m.seal.ID); err != nil {
		return res, fmt.Errorf("the store now has %d shards, but emptying the old layout's sealed files failed (a resume finishes it): %w", m.seal.To, err)
	}
	return res, nil
}

// sealOne seals old shard i and returns what it froze. It is idempotent:
// a shard already sealed by this migration yields what that seal froze.
// st was read before a check of the era.
func (m *migration) sealOne(ctx context.Context, i int, st *blobState) ([]byte, error) {
	id := m.oldIDs[i]
	seal := m.seal
	if i != 0 {
		seal = seal.WithoutKeys()
	}
	for attempt := 0; ; attempt++ {
		if st == nil {
			data, rev, err := m.s.readBlob(ctx, id)
			if err != nil {
				return nil, err
			}
			st = &blobState{data, rev}
			if got, _, _ := format.ParseSealed(id, data); got == nil {
				// About to seal what was read: only in this run's era.
				if err := m.unswitched(ctx); err != nil {
					return nil, err
				}
			}
		}
		got, frozen, err := format.ParseSealed(id, st.data)
		if err != nil {
			return nil, err
		}
		if got != nil {
			if got.ID == m.seal.ID {
				return frozen, nil
			}
			return nil, &MigratingError{Blob: id, Seal: *got}
		}
		if _, err := m.frozenShard(id, st.data); err != nil {
			return nil, err
		}
		blob, err := format.EncodeSeal(m.s.opts.Rand, seal, st.data)
		if err != nil {
			return nil, err
		}
		_, err = m.s.a.Write(ctx, id, blob, st.rev)
		if err == nil {
			return st.data, nil
		}
		if err := m.retryable(ctx, id, err, attempt); err != nil {
			return nil, err
		}
		st = nil // re-read: a conflict, or a write whose reply was lost
	}
}

// retryable decides whether a failed write of a migration step is tried
// again (after reading the blob again): conflicts and transient failures
// are, up to the engine's conflict limit.
func (m *migration) retryable(ctx context.Context, id string, err error, attempt int) error {
	return m.s.retryable(ctx, id, err, attempt)
}

func (s *Store) retryable(ctx context.Context, id string, err error, attempt int) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !errors.Is(err, adapters.ErrConflict) && !adapters.IsRetryable(err) {
		return blobError("write", id, err)
	}
	if attempt+1 >= s.opts.MaxConflicts {
		return &ConflictError{Blob: id, Attempts: attempt + 1}
	}
	return nil
}

// newShards builds the new layout from the frozen old one.
func (m *migration) newShards(frozen [][]byte, res *MigrateResult) ([]*format.Shard, error) {
	parts := make([]*format.Shard, len(frozen))
	for i, data := range frozen {
		sh, err := format.ParseShard(m.oldIDs[i], data, m.oldKeys.Cipher)
		if err != nil {
			return nil, err
		}
		parts[i] = sh
	}
	oldRouter := format.NewRouter(m.oldKeys.Router, m.from)
	newRouter := format.NewRouter(m.newKeys.Router, m.seal.To)
	var mu sync.Mutex
	shards, err := format.Reroute(parts, m.newIDs, func(part int, path string) int {
		if oldRouter.ShardOf(path) != part {
			// Unreachable where it is: the engine never looks there.
			mu.Lock()
			res.Unrouted++
			mu.Unlock()
			return -1
		}
		return newRouter.ShardOf(path)
	})
	if err != nil {
		return nil, err
	}
	for i, sh := range shards {
		res.Items += sh.Len()
		if m.rotating() {
			if shards[i], err = sh.Rekeyed(); err != nil {
				return nil, err
			}
		}
	}
	return shards, nil
}

// writeNew writes new shard i unless it is there already; st is the file
// as read before a check of the era.
func (m *migration) writeNew(ctx context.Context, i int, sh *format.Shard, st blobState) error {
	id := m.newIDs[i]
	blob, err := sh.Encode(m.s.opts.Rand, m.newKeys.Cipher)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			data, rev, err := m.s.readBlob(ctx, id)
			if err != nil {
				return err
			}
			st = blobState{data, rev}
			if switched, err := m.era(ctx); err != nil || switched {
				return err
			}
		}
		data, rev := st.data, st.rev
		seal, _, err := format.ParseSealed(id, data)
		switch {
		case err != nil:
			return fmt.Errorf("%w; the new layout's file %s holds something else: move it out of the store's folder, keeping it, and resume", err, id)
		case data != nil && seal == nil:
			// Live before the switch: this migration's own write of it,
			// with what clients of the new layout wrote on top since
			// (see descends). Keep it as it is.
			return m.descends(id, data)
		case seal != nil && seal.ID == m.seal.ID:
			return &format.CorruptError{Blob: id, Err: errors.New("a file of the new layout carries this migration's seal")}
		}
		// Absent, or a tombstone of an older migration away from this
		// layout: write over it. An empty shard is written too, so that
		// every file of the layout exists once it is switched to: a
		// missing one then means a file deleted (see Task.read), and the
		// proof in descends holds for a later move back here.
		_, err = m.s.a.Write(ctx, id, blob, rev)
		if err == nil {
			return nil
		}
		if err := m.retryable(ctx, id, err, attempt); err != nil {
			return err
		}
	}
}

// descends accepts a live file of the new layout found before the switch.
//
// It can only descend from this migration's own write of it (any run of
// it: they all write the same items). When the migration sealed its
// claim, every file of the new layout was sealed, or absent in a layout
// no config ever named: a fresh migration refuses live files
// (checkNewFree) and seals again the missing files of a layout the store
// left before (sealMissing). From then until the switch:
//   - no client writes over a sealed file: the engine fails with ErrMoved,
//     the reference cannot decrypt it; and no client routes by a layout no
//     config named;
//   - no other migration writes the layout: one of this era would need
//     this era's claim, which this one holds; a stalled run of an earlier
//     era writes only a blob unchanged since its era (see era), and the
//     migration that ended that era wrote every file of its new layout
//     before switching (writeNew writes empty files too), and the move
//     away from it sealed them again;
//   - fsck --repair seals no file of the layout a migration under way is
//     writing (frozenSeals skips it).
//
// So the first write that made the file live is this migration's, and
// every later one is a compare-and-swap on top of it by a client of the
// new layout (one that opened the store when that layout was current, a
// web page left open): the file is this migration's content with those
// clients' acknowledged writes applied. Writing it again would lose them,
// and so would moving it away (what this said before: red team item B).
// What it cannot cover is a file deleted or copied in by hand while the
// migration runs; one the new keys do not open is not this migration's,
// and stops it, kept.
func (m *migration) descends(id string, data []byte) error {
	if _, err := format.ParseShard(id, data, m.newKeys.Cipher); err != nil {
		return fmt.Errorf("the new layout's file %s holds data this migration did not write (the store's keys do not open it: %w): move it out of the store's folder, keeping it, and resume", id, err)
	}
	return nil
}

func (m *migration) isSwitched(cfg *format.Config) bool {
	return cfg.Shards() == m.seal.To && slices.Contains(cfg.Retired(), format.Retired{N: m.from, ID: m.seal.ID})
}

// switchConfig points the config at the new layout.
func (m *migration) switchConfig(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		data, rev, err := m.s.readBlob(ctx, ConfigBlob)
		if err != nil {
			return err
		}
		if data == nil {
			return ErrNoStore
		}
		cfg, err := format.ParseConfig(data)
		if err != nil {
			return err
		}
		if switched, err := m.eraOf(cfg); err != nil || switched {
			return err
		}
		next := cfg.Resharded(m.seal.To, m.seal.ID)
		if m.rotating() {
			if next, err = m.rewrap(ctx, cfg, next); err != nil {
				return err
			}
		}
		out, err := next.Marshal()
		if err != nil {
			return err
		}
		_, err = m.s.a.Write(ctx, ConfigBlob, out, rev)
		if err == nil {
			return nil
		}
		if err := m.retryable(ctx, ConfigBlob, err, attempt); err != nil {
			return err
		}
	}
}

// rewrap wraps the new keys under the passphrase, after checking that it
// still opens the config as it is now: a passphrase changed meanwhile must
// not be changed back.
func (m *migration) rewrap(ctx context.Context, cur, next *format.Config) (*format.Config, error) {
	pk, err := m.s.opts.KDF(ctx, m.passphrase, cur.KDFParams())
	if err != nil {
		return nil, err
	}
	keys, err := cur.UnlockKey(pk)
	clear(pk)
	if err != nil {
		return nil, fmt.Errorf("the passphrase no longer opens the config (changed during the rotation?): %w", err)
	}
	if !bytes.Equal(keys.Cipher, m.oldKeys.Cipher) {
		return nil, errors.New("the config holds other keys than the store that was opened")
	}
	return next.RewrapKDF(ctx, m.s.opts.KDF, m.s.opts.Rand, m.newKeys, m.passphrase, cur.Iterations())
}

// emptySeals rewrites the seals of migration id among ids without the
// data they froze, which nothing needs once the config has switched.
func (m *migration) emptySeals(ctx context.Context, ids []string, id string) error {
	return parallel(ctx, len(ids), func(i int) error {
		return m.s.emptySeal(ctx, ids[i], id)
	})
}

func (s *Store) emptySeal(ctx context.Context, blob, id string) error {
	for attempt := 0; ; attempt++ {
		data, rev, err := s.readBlob(ctx, blob)
		if err != nil {
			return err
		}
		seal, frozen, err := format.ParseSealed(blob, data)
		if err != nil || seal == nil || seal.ID != id || frozen == nil {
			return err // nothing of this migration's to empty
		}
		out, err := format.EncodeSeal(s.opts.Rand, seal.WithoutKeys(), nil)
		if err != nil {
			return err
		}
		_, err = s.a.Write(ctx, blob, out, rev)
		if err == nil {
			return nil
		}
		if err := s.retryable(ctx, blob, err, attempt); err != nil {
			return err
		}
	}
}

// emptyRetired empties the seals of finished migrations that still hold
// frozen data; it returns nil when there were none.
func (s *Store) emptyRetired(ctx context.Context, cfg *format.Config) (*MigrateResult, error) {
	var res *MigrateResult
	live := format.NewRouter(nil, cfg.Shards()).BlobIDs()
	for _, r := range cfg.Retired() {
		var ids []string
		for _, id := range format.NewRouter(nil, r.N).BlobIDs() {
			if _, found := slices.BinarySearch(live, id); !found {
				ids = append(ids, id)
			}
		}
		var mu sync.Mutex
		emptied := 0
		err := parallel(ctx, len(ids), func(i int) error {
			data, _, err := s.readBlob(ctx, ids[i])
			if err != nil {
				return err
			}
			if seal, frozen, _ := format.ParseSealed(ids[i], data); seal == nil || seal.ID != r.ID || frozen == nil {
				return nil
			}
			mu.Lock()
			emptied++
			mu.Unlock()
			return s.emptySeal(ctx, ids[i], r.ID)
		})
		if err != nil {
			return nil, err
		}
		if emptied > 0 {
			res = &MigrateResult{ID: r.ID, From: r.N, To: cfg.Shards(), Resumed: true}
		}
	}
	return res, nil
}

// parallel runs fn(0..n-1) with a bounded number at once and returns the
// first error; the others still finish (their work is idempotent).
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	const limit = 16
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// LayoutGoneError reports a shard missing from the layout a client routes
// by while the config names another one: the store moved since the client
// opened it, and the sealed file the move left there was deleted. It
// matches ErrMoved.
type LayoutGoneError struct {
	Blob        string
	Opened, Now int // shard counts: the client's, the config's
}

func (e *LayoutGoneError) Error() string {
	if e.Opened == e.Now {
		return fmt.Sprintf("shard %s is missing, and the store was moved since this client opened it (and moved back to %d shards): nothing was written; open the store again", e.Blob, e.Now)
	}
	return fmt.Sprintf("shard %s is missing, and the store was moved from %d to %d shards since this client opened it (the sealed file the move left was deleted): nothing was written; open the store again", e.Blob, e.Opened, e.Now)
}

func (e *LayoutGoneError) Is(target error) bool { return target == ErrMoved }

// missingShard decides what a missing shard file means, before a task
// takes it for empty and writes a new one there.
//
// A move seals every file of the layout it leaves, so that a client still
// routing by it (one that opened the store before the move: a web page
// left open, the agent) fails instead of writing where nobody reads. If
// those sealed files are deleted (they look like leftovers), such a client
// finds no shard at all and would create a fresh one, acknowledged and
// lost (red team finding 4). So a missing shard is empty only while the
// config still names the era the client opened: the same shard count, and
// the same list of retired layouts (every move appends to it). Otherwise
// the task fails with a *LayoutGoneError, having written nothing.
//
// It costs one read of the config, only when a shard is missing: stores
// this program makes have every file of their layout (Create writes them,
// and a move writes every file of the new one), so only a store made by
// the reference, which writes a shard on first use, pays it, once per
// shard and task until the shard exists. A store opened with keys alone
// (the agent's) compares the shard count only. The reference cannot be
// protected this way: it never reads the config again.
func (s *Store) missingShard(ctx context.Context, blob string) error {
	cfg, err := s.readConfig(ctx)
	if err != nil {
		return err
	}
	if cfg.Shards() == s.Shards() && (s.cfg == nil || slices.Equal(cfg.Retired(), s.cfg.Retired())) {
		return nil
	}
	return &LayoutGoneError{Blob: blob, Opened: s.Shards(), Now: cfg.Shards()}
}

// Reopen opens the store at the same location again, for a caller that
// migrated it: a Store keeps routing by the layout it was opened with.
func (s *Store) Reopen(ctx context.Context, passphrase []byte) (*Store, error) {
	return Open(ctx, s.a, passphrase, s.opts)
}
