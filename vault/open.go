package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault/format"
)

// Opening a store is two steps: Locate reads the config (is there a store,
// which version, which key derivation), then Unlock turns it into a Store
// with an Unlocker: a passphrase run through the KDF, or keys already
// unwrapped (held by an agent). A caller that holds the keys can skip the
// config read altogether with OpenKeys.

// Locked is a store whose config was read but whose keys are not unwrapped.
type Locked struct {
	a    adapters.Adapter
	opts Options
	cfg  *format.Config
	rev  adapters.Rev
	id   string
}

// Locate reads and checks the store's config. A location without a store
// yields an error matching ErrNoStore.
func Locate(ctx context.Context, a adapters.Adapter, opts Options) (*Locked, error) {
	data, rev, err := a.Read(ctx, ConfigBlob)
	if errors.Is(err, adapters.ErrNotFound) {
		return nil, ErrNoStore
	}
	if err != nil {
		// The adapter's error names the blob already.
		return nil, err
	}
	cfg, err := format.ParseConfig(data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &Locked{a: a, opts: opts.withDefaults(), cfg: cfg, rev: rev, id: hex.EncodeToString(sum[:])}, nil
}

// Version is the store's format version.
func (l *Locked) Version() int { return l.cfg.Version() }

// Shards is the store's shard count.
func (l *Locked) Shards() int { return l.cfg.Shards() }

// KDFParams are the parameters of the passphrase's key derivation.
func (l *Locked) KDFParams() format.KDFParams { return l.cfg.KDFParams() }

// ConfigID identifies the config as read: the SHA-256 of its bytes, in hex.
// It changes when the passphrase is changed or the store is re-created, so
// a holder of cached keys can tell that they may no longer belong to it.
func (l *Locked) ConfigID() string { return l.id }

// An Unlocker unwraps a located store's keys.
type Unlocker interface {
	unlock(ctx context.Context, l *Locked) (*format.Keys, error)
}

type passphraseUnlocker []byte

func (p passphraseUnlocker) unlock(ctx context.Context, l *Locked) (*format.Keys, error) {
	pk, err := l.opts.KDF(ctx, p, l.cfg.KDFParams())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot derive the key from the passphrase: %w", err)
	}
	defer clear(pk)
	return l.cfg.UnlockKey(pk)
}

// Passphrase unlocks with a passphrase, through Options.KDF. A passphrase
// that does not unwrap the keys yields an error matching
// ErrWrongPassphrase.
func Passphrase(p []byte) Unlocker { return passphraseUnlocker(p) }

type keysUnlocker struct{ k *format.Keys }

func (k keysUnlocker) unlock(context.Context, *Locked) (*format.Keys, error) {
	if k.k == nil || len(k.k.Cipher) != 32 || len(k.k.Router) != 64 {
		return nil, errors.New("the keys must be a 32-byte cipher key and a 64-byte router key")
	}
	return k.k, nil
}

// Keys unlocks with keys unwrapped before, such as those an agent holds.
// Nothing checks here that they are the store's: a shard read with other
// keys fails to decrypt and is reported as damaged (ErrCorrupt).
func Keys(k *format.Keys) Unlocker { return keysUnlocker{k} }

// Unlock returns the opened store.
func (l *Locked) Unlock(ctx context.Context, u Unlocker) (*Store, error) {
	keys, err := u.unlock(ctx, l)
	if err != nil {
		return nil, err
	}
	return &Store{a: l.a, opts: l.opts, cfg: l.cfg, cfgRev: l.rev, keys: keys,
		router: format.NewRouter(keys.Router, l.cfg.Shards())}, nil
}

// OpenKeys opens the store at a with keys and a shard count known from
// before, without reading the config: a read is then one round trip. The
// keys of a store never change (a passphrase change re-wraps them); if the
// store was re-created meanwhile, its shards do not decrypt with them and
// the caller should Locate again. A store opened this way cannot change
// its passphrase.
func OpenKeys(a adapters.Adapter, keys *format.Keys, shards int, opts Options) (*Store, error) {
	if _, err := (keysUnlocker{keys}).unlock(context.Background(), nil); err != nil {
		return nil, err
	}
	if shards < 1 || shards > format.MaxShards {
		return nil, fmt.Errorf("shard count %d out of range", shards)
	}
	return &Store{a: a, opts: opts.withDefaults(), keys: keys, router: format.NewRouter(keys.Router, shards)}, nil
}

// Keys returns the store's unwrapped keys, for a caller that caches them
// (an agent). They are secrets: never print or store them.
func (s *Store) Keys() *format.Keys { return s.keys }
