// Package vault is the VaultDB engine: an encrypted document store on a
// compare-and-swap blob store (see docs/design.md for the format and the
// rules, docs/architecture.md for how the code is cut).
//
// A Store is opened with a passphrase; all reads and writes go through a
// Task, a short-lived unit that caches shard reads and plans the writes of
// all its concurrent calls together. The package knows nothing of
// terminals, flags or particular blob services: it talks to an
// adapters.Adapter.
package vault

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault/format"
)

// ConfigBlob is the blob id of the store's config.
const ConfigBlob = "config"

// DefaultIterations is the PBKDF2 iteration count of new stores.
const DefaultIterations = format.DefaultIterations

// DefaultShards is the shard count of new stores.
const DefaultShards = 4

// Options tune how a store is used; the zero value is the default.
type Options struct {
	// Rand is the source of randomness for keys, IVs and tags.
	Rand io.Reader
	// MaxConflicts is how many times one operation is re-planned after
	// conflicts before it fails with ErrTooManyConflicts. Default 12.
	MaxConflicts int
	// Backoff is the base of the jittered exponential back-off between
	// re-plans after a conflict. Default 10ms; negative means none (the
	// model checker orders every request itself, so waiting adds nothing).
	Backoff time.Duration
	// KDF derives password keys from passphrases. Default format.PBKDF2;
	// a browser build plugs in WebCrypto.
	KDF format.KDF
	// BatchWindow is how many calls of an UpdateAll or RemoveAll form one
	// wave (see Task.batch). Default batchWindow: 8,192, 64 a shard on
	// larger stores, at most 16,384; the model checker makes waves of two
	// to reach their overlap in a few steps.
	BatchWindow int
	// BatchWaves is how many waves of a batch may be under way at once
	// (planned, their writes not all started): 2 plans the next wave
	// while the last one's first writes are in flight, 1 only once they
	// have all started. Default 1: with waves of 8,192 to 16,384 calls a
	// second one saved little CPU and cost much memory (an import of
	// 100,000 entries into 256 shards: 7.4 s CPU and 382 MB peak with two,
	// 7.3 s and 262 MB with one). The model checker runs 2, which holds
	// the most calls in flight at once.
	BatchWaves int
}

func (o Options) withDefaults() Options {
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.MaxConflicts <= 0 {
		o.MaxConflicts = 40
	}
	if o.Backoff == 0 {
		o.Backoff = 10 * time.Millisecond
	}
	if o.KDF == nil {
		o.KDF = format.PBKDF2
	}
	return o
}

// CreateOptions are the parameters of a new store.
type CreateOptions struct {
	Options
	// Shards is the number of shard files. Default DefaultShards.
	Shards int
	// Iterations is the PBKDF2 iteration count. Default DefaultIterations;
	// lower only in tests.
	Iterations int
}

// Store is an opened store: its keys and its adapter. It is safe for
// concurrent use; each Task is independent.
type Store struct {
	a      adapters.Adapter
	opts   Options
	cfg    *format.Config
	cfgRev adapters.Rev
	keys   *format.Keys
	router *format.Router
}

// Create makes a new store on a, which must not hold one already: the
// config is written with "must not exist" semantics, so a concurrent
// create cannot overwrite another.
func Create(ctx context.Context, a adapters.Adapter, passphrase []byte, co CreateOptions) (*Store, error) {
	opts := co.Options.withDefaults()
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	if co.Shards == 0 {
		co.Shards = DefaultShards
	}
	if co.Shards < 1 || co.Shards > 65536 {
		return nil, fmt.Errorf("shard count %d out of range 1..65536", co.Shards)
	}
	if co.Iterations == 0 {
		co.Iterations = DefaultIterations
	}
	if err := format.CheckIterations(co.Iterations); err != nil {
		return nil, err
	}
	cfg, keys, err := format.NewConfigKDF(ctx, opts.KDF, opts.Rand, passphrase, co.Iterations, co.Shards)
	if err != nil {
		return nil, fmt.Errorf("failed to create keys: %w", err)
	}
	data, err := cfg.Marshal()
	if err != nil {
		return nil, err
	}
	rev, err := a.Write(ctx, ConfigBlob, data, adapters.NoRev)
	if errors.Is(err, adapters.ErrConflict) {
		return nil, ErrStoreExists
	}
	if err != nil {
		return nil, fmt.Errorf("failed to write config: %w", err)
	}
	s := &Store{a: a, opts: opts, cfg: cfg, cfgRev: rev, keys: keys,
		router: format.NewRouter(keys.Router, cfg.Shards())}
	s.writeEmptyShards(ctx)
	return s, nil
}

// writeEmptyShards writes every shard file of a new store, empty, after
// its config: a missing shard then means a deleted file, which a task
// checks against the config before taking it for empty (missingShard), and
// a store this program makes never pays that read. Failures are left
// alone: a shard not written is a missing shard, which works (the
// reference's new stores have none), at one config read more on its first
// use. A file there already (left from another store) is not written over:
// init's stray-shard check reports it.
func (s *Store) writeEmptyShards(ctx context.Context) {
	ids := s.BlobIDs()
	_ = parallel(ctx, len(ids), func(i int) error {
		empty, err := format.EmptyShard().Encode(s.opts.Rand, s.keys.Cipher)
		if err != nil {
			return err
		}
		_, err = s.a.Write(ctx, ids[i], empty, adapters.NoRev)
		return err
	})
}

// Open reads the store's config and unlocks its keys with passphrase:
// Locate, then Unlock with Passphrase. A wrong passphrase yields an error
// matching ErrWrongPassphrase; a location without a store, ErrNoStore.
func Open(ctx context.Context, a adapters.Adapter, passphrase []byte, opts Options) (*Store, error) {
	l, err := Locate(ctx, a, opts)
	if err != nil {
		return nil, err
	}
	return l.Unlock(ctx, Passphrase(passphrase))
}

// ChangePassphrase re-wraps the store's keys under a new passphrase (and a
// new salt). No shard is rewritten. iterations 0 keeps the current count.
// If another client changed the config since it was opened, it fails and
// nothing is written.
func (s *Store) ChangePassphrase(ctx context.Context, newPassphrase []byte, iterations int) error {
	if len(newPassphrase) == 0 {
		return ErrEmptyPassphrase
	}
	if s.cfg == nil {
		return errors.New("the store was opened with keys alone; locate it to change its passphrase")
	}
	cfg, err := s.cfg.RewrapKDF(ctx, s.opts.KDF, s.opts.Rand, s.keys, newPassphrase, iterations)
	if err != nil {
		return fmt.Errorf("failed to re-wrap keys: %w", err)
	}
	data, err := cfg.Marshal()
	if err != nil {
		return err
	}
	rev, err := s.a.Write(ctx, ConfigBlob, data, s.cfgRev)
	if errors.Is(err, adapters.ErrConflict) {
		return ErrConfigChanged
	}
	if err != nil {
		return fmt.Errorf("failed to write config: %w", err)
	}
	s.cfg, s.cfgRev = cfg, rev
	return nil
}

// Shards returns the number of shards.
func (s *Store) Shards() int { return s.router.N() }

// BlobIDs returns the blob ids of all shards, in shard order.
func (s *Store) BlobIDs() []string { return s.router.BlobIDs() }

// ShardOf returns the blob id of the shard that holds path.
func (s *Store) ShardOf(path string) string { return s.router.BlobID(s.router.ShardOf(path)) }

// Adapter returns the blob store the store was opened on, for checks
// outside the engine (listing its files, see adapters.List).
func (s *Store) Adapter() adapters.Adapter { return s.a }
