// Package format implements the on-disk format of a vaultdb store: paths and
// their order, the config blob, routing of paths to shard blobs, item
// encryption and the shard file layout.
//
// The byte layout is a compatibility contract with the JavaScript reference
// implementation (sections 1 and 2 of the design document): a store written
// by either must open in the other. The package does no I/O and keeps no
// global state; every source of randomness is passed in.
//
// Errors returned for malformed input match one of ErrInvalidPath,
// ErrBadConfig, ErrUnsupportedVersion, ErrWrongPassphrase or ErrCorrupt with
// errors.Is. No error message ever contains a passphrase, a key or a
// decrypted value.
package format

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// DefaultIterations is the PBKDF2 round count for new stores and new
// passphrases, as in the reference implementation.
const DefaultIterations = 600000

// MaxIterations is the largest PBKDF2 round count accepted, from a config
// or for a new passphrase: about 16 times the default, as age caps scrypt's
// work factor at 16 times its own default. A config holds the count in
// clear and anyone who can write the store can change it; without a bound
// a count of 10^12 makes every command (and every TAB completion) spin for
// days. At the bound a key derivation takes a few seconds.
const MaxIterations = 10_000_000

// MaxShards is the largest shard count: routing uses 16 bits of the HMAC, so
// with more shards some would cover no id at all.
const MaxShards = 65536

var (
	// ErrInvalidPath matches a *PathError.
	ErrInvalidPath = errors.New("invalid path")
	// ErrBadConfig matches a *ConfigError: the config blob is not usable.
	ErrBadConfig = errors.New("invalid config")
	// ErrUnsupportedVersion matches a *VersionError: the blob was written by
	// a newer (or unknown) version of the format.
	ErrUnsupportedVersion = errors.New("unsupported format version")
	// ErrWrongPassphrase is returned by Config.Unlock when the passphrase
	// does not unwrap the keys. A tampered config is indistinguishable.
	ErrWrongPassphrase = errors.New("incorrect passphrase")
	// ErrCorrupt matches a *CorruptError and the errors of DecryptItem: data
	// failed to parse or to authenticate.
	ErrCorrupt = errors.New("store data is damaged")
)

// PathError reports a path that is not valid where it was used.
type PathError struct {
	Path   string
	Reason string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("invalid path %q: %s", e.Path, e.Reason)
}

func (e *PathError) Is(target error) bool { return target == ErrInvalidPath }

// ConfigError reports a config blob that is not JSON or lacks a field, or
// whose fields have the wrong type or an impossible value.
type ConfigError struct {
	Reason string // what is wrong, e.g. "config field shards.n missing"
	Err    error  // underlying cause, if any
}

func (e *ConfigError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *ConfigError) Unwrap() error        { return e.Err }
func (e *ConfigError) Is(target error) bool { return target == ErrBadConfig }

// VersionError reports a config or shard header whose version this package
// does not know.
type VersionError struct {
	Blob    string // "config" or a shard blob id
	Version int64
}

func (e *VersionError) Error() string {
	what := "config"
	if e.Blob != "config" {
		what = "shard " + e.Blob
	}
	return fmt.Sprintf("%s has unsupported format version %d (this program reads version 1)", what, e.Version)
}

func (e *VersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

// CorruptError reports a shard that fails to parse or authenticate. Item is
// the path of the one damaged item, or "" when the shard as a whole (header
// or index) is damaged; in the first case the other items stay readable.
type CorruptError struct {
	Blob string
	Item string
	Err  error
}

func (e *CorruptError) Error() string {
	msg := "shard " + e.Blob + " is damaged"
	if e.Blob == "" {
		msg = "shard is damaged"
	}
	if e.Item != "" {
		msg += ": item " + strconv.Quote(e.Item)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *CorruptError) Unwrap() error        { return e.Err }
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// corruptDetail is the error DecryptItem and the parsers use for bad data
// before the shard's name is known, so that it still matches ErrCorrupt.
type corruptDetail string

func (e corruptDetail) Error() string        { return string(e) }
func (e corruptDetail) Is(target error) bool { return target == ErrCorrupt }

// randomBytes fills a fresh buffer from rnd, defaulting to crypto/rand so
// that callers outside tests need not care.
func randomBytes(rnd io.Reader, n int) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return nil, fmt.Errorf("failed to read random bytes: %w", err)
	}
	return b, nil
}
