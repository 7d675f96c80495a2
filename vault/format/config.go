package format

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"golang.org/x/text/unicode/norm"

	"github.com/vaultdb/vaultdb/internal/jsonobj"
)

// Keys are the secrets a passphrase unlocks. They never change for the life
// of a store; a passphrase change only re-wraps them.
type Keys struct {
	Cipher []byte // 32 bytes: AES-256-GCM key that encrypts item keys
	Router []byte // 64 bytes: HMAC-SHA256 key that routes paths to shards
}

// String and GoString keep keys out of logs and error messages printed
// with %v or %#v.
func (k Keys) String() string   { return "format.Keys{redacted}" }
func (k Keys) GoString() string { return k.String() }

func (k *Keys) check() error {
	if k == nil || len(k.Cipher) != keySize || len(k.Router) != routerSize {
		return errors.New("keys must be a 32-byte cipher key and a 64-byte router key")
	}
	return nil
}

// Config is the parsed config blob. Fields this version does not know, at
// the top level and inside "password", "cipher" and "shards", are kept so
// that a rewrite by this program does not drop what a newer one added.
type Config struct {
	version    int
	salt       string // base64, kept as read so that Marshal round-trips
	saltBytes  []byte
	iterations int
	cipherKey  string // wrapped, base64, as read
	routerKey  string // wrapped, base64, as read
	shards     int
	// retired are the shard counts the store was moved away from, whose
	// sealed files stay beside the live ones (see Retired).
	retired []Retired

	extra, extraPassword, extraCipher, extraShards []field
}

// field is one member of a JSON object; objects are kept as ordered slices
// so that unknown members keep their order.
type field struct {
	key   string
	value json.RawMessage
}

// Shards returns the number of shards of the store.
func (c *Config) Shards() int { return c.shards }

// Iterations returns the PBKDF2 round count of the passphrase.
func (c *Config) Iterations() int { return c.iterations }

// Version returns the config format version, always 1.
func (c *Config) Version() int { return c.version }

const saltSize = 32

func badConfig(format string, args ...any) error {
	return &ConfigError{Reason: fmt.Sprintf(format, args...)}
}

// ParseConfig parses and validates a config blob. It does not need the
// passphrase, so a damaged or newer config is reported before asking for it.
func ParseConfig(data []byte) (*Config, error) {
	top, err := parseObject(data, true)
	if err != nil {
		return nil, err
	}
	// The version decides how to read everything else, so check it first.
	v, ok := lookup(top, "version")
	if !ok {
		return nil, badConfig("config field version missing")
	}
	version, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return nil, badConfig("config field version is not an integer")
	}
	if version != 1 {
		return nil, &VersionError{Blob: "config", Version: version}
	}
	c := &Config{version: 1}

	var password, cipherObj, shards []field
	for _, sub := range []struct {
		name string
		dst  *[]field
	}{{"password", &password}, {"cipher", &cipherObj}, {"shards", &shards}} {
		raw, ok := lookup(top, sub.name)
		if !ok {
			return nil, badConfig("config field %s missing", sub.name)
		}
		if *sub.dst, err = parseObject(raw, false); err != nil {
			return nil, badConfig("config field %s is not an object", sub.name)
		}
	}

	if c.salt, err = stringField(password, "password", "salt"); err != nil {
		return nil, err
	}
	if c.saltBytes, err = base64.StdEncoding.DecodeString(c.salt); err != nil {
		return nil, badConfig("config field password.salt is not valid base64")
	}
	if len(c.saltBytes) == 0 {
		return nil, badConfig("config field password.salt is empty")
	}
	if c.iterations, err = intField(password, "password", "iterations"); err != nil {
		return nil, err
	}
	if c.iterations < 1 {
		return nil, badConfig("config field password.iterations must be at least 1")
	}
	if c.iterations > MaxIterations {
		return nil, badConfig("config field password.iterations is %d, above the limit of %d this program accepts: the config was altered or written by a tool that allows more work", c.iterations, MaxIterations)
	}
	if c.cipherKey, err = wrappedField(cipherObj, "cipher", "key", keySize); err != nil {
		return nil, err
	}
	if c.routerKey, err = wrappedField(shards, "shards", "key", routerSize); err != nil {
		return nil, err
	}
	if c.shards, err = intField(shards, "shards", "n"); err != nil {
		return nil, err
	}
	if c.shards < 1 || c.shards > MaxShards {
		return nil, badConfig("config field shards.n must be between 1 and %d", MaxShards)
	}

	if raw, ok := lookup(top, "retired"); ok {
		if c.retired, err = parseRetired(raw, c.shards); err != nil {
			return nil, err
		}
	}

	c.extra = without(top, "version", "password", "cipher", "shards", "retired")
	c.extraPassword = without(password, "salt", "iterations")
	c.extraCipher = without(cipherObj, "key")
	c.extraShards = without(shards, "key", "n")
	return c, nil
}

// parseObject reads a JSON object into its members in order, with the
// one parser of objects (jsonobj): like JSON.parse, a repeated key keeps
// its first position and its last value.
func parseObject(data []byte, top bool) ([]field, error) {
	ms, err := jsonobj.Parse(data)
	switch {
	case errors.Is(err, jsonobj.ErrNotObject) && top:
		return nil, badConfig("config is not a JSON object")
	case errors.Is(err, jsonobj.ErrNotObject):
		return nil, errors.New("not an object")
	case err != nil && top:
		return nil, &ConfigError{Reason: "config is not JSON", Err: err}
	case err != nil:
		return nil, err
	}
	fs := make([]field, len(ms))
	for i, m := range ms {
		fs[i] = field{m.Key, m.Value}
	}
	return fs, nil
}

func fieldIndex(fs []field, key string) int {
	for i, f := range fs {
		if f.key == key {
			return i
		}
	}
	return -1
}

func lookup(fs []field, key string) (json.RawMessage, bool) {
	if i := fieldIndex(fs, key); i >= 0 {
		return fs[i].value, true
	}
	return nil, false
}

func without(fs []field, known ...string) []field {
	var out []field
outer:
	for _, f := range fs {
		for _, k := range known {
			if f.key == k {
				continue outer
			}
		}
		out = append(out, f)
	}
	return out
}

func stringField(fs []field, obj, key string) (string, error) {
	raw, ok := lookup(fs, key)
	if !ok {
		return "", badConfig("config field %s.%s missing", obj, key)
	}
	var s string
	// Unmarshal accepts null into a string; the type check must not.
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", badConfig("config field %s.%s is not a string", obj, key)
	}
	return s, nil
}

func intField(fs []field, obj, key string) (int, error) {
	raw, ok := lookup(fs, key)
	if !ok {
		return 0, badConfig("config field %s.%s missing", obj, key)
	}
	n, err := strconv.ParseInt(string(raw), 10, strconv.IntSize)
	if err != nil {
		return 0, badConfig("config field %s.%s is not an integer", obj, key)
	}
	return int(n), nil
}

func wrappedField(fs []field, obj, key string, size int) (string, error) {
	s, err := stringField(fs, obj, key)
	if err != nil {
		return "", err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", badConfig("config field %s.%s is not valid base64", obj, key)
	}
	if len(b) != ivSize+size+tagSize {
		return "", badConfig("config field %s.%s is not a wrapped %d-byte key", obj, key, size)
	}
	return s, nil
}

// NewConfig returns the config of a new store together with its fresh keys.
// rnd is the source of randomness, crypto/rand if nil.
func NewConfig(rnd io.Reader, passphrase []byte, iterations, shards int) (*Config, *Keys, error) {
	return NewConfigKDF(context.Background(), PBKDF2, rnd, passphrase, iterations, shards)
}

// NewConfigContext is NewConfig with a key derivation that stops, with
// ctx's error, when ctx is done.
func NewConfigContext(ctx context.Context, rnd io.Reader, passphrase []byte, iterations, shards int) (*Config, *Keys, error) {
	return NewConfigKDF(ctx, PBKDF2, rnd, passphrase, iterations, shards)
}

// newConfig returns a config without its wrapped keys, and fresh keys.
func newConfig(rnd io.Reader, shards int) (*Config, *Keys, error) {
	if shards < 1 || shards > MaxShards {
		return nil, nil, fmt.Errorf("shard count must be between 1 and %d, got %d", MaxShards, shards)
	}
	keys, err := NewKeys(rnd)
	if err != nil {
		return nil, nil, err
	}
	return &Config{version: 1, shards: shards}, keys, nil
}

// NewKeys returns fresh random keys, for a new store or a key rotation.
func NewKeys(rnd io.Reader) (*Keys, error) {
	r, err := randomBytes(rnd, keySize+routerSize)
	if err != nil {
		return nil, fmt.Errorf("failed to create keys: %w", err)
	}
	return &Keys{Cipher: r[:keySize:keySize], Router: r[keySize:]}, nil
}

// Rewrap returns a copy of c with keys wrapped under newPassphrase and a new
// salt; iterations 0 keeps the current count. No shard needs rewriting.
func (c *Config) Rewrap(rnd io.Reader, keys *Keys, newPassphrase []byte, iterations int) (*Config, error) {
	return c.RewrapKDF(context.Background(), PBKDF2, rnd, keys, newPassphrase, iterations)
}

// RewrapContext is Rewrap with a key derivation that stops, with ctx's
// error, when ctx is done.
func (c *Config) RewrapContext(ctx context.Context, rnd io.Reader, keys *Keys, newPassphrase []byte, iterations int) (*Config, error) {
	return c.RewrapKDF(ctx, PBKDF2, rnd, keys, newPassphrase, iterations)
}

// rewrapCopy is c without its wrapped keys.
func (c *Config) rewrapCopy() *Config {
	return &Config{
		version:       c.version,
		shards:        c.shards,
		retired:       slices.Clone(c.retired),
		extra:         cloneFields(c.extra),
		extraPassword: cloneFields(c.extraPassword),
		extraCipher:   cloneFields(c.extraCipher),
		extraShards:   cloneFields(c.extraShards),
	}
}

func cloneFields(fs []field) []field {
	out := make([]field, len(fs))
	for i, f := range fs {
		out[i] = field{f.key, append(json.RawMessage(nil), f.value...)}
	}
	return out
}

// wrapKDF sets a fresh salt and the keys wrapped under the password key
// kdf derives.
func (c *Config) wrapKDF(ctx context.Context, kdf KDF, rnd io.Reader, keys *Keys, passphrase []byte, iterations int) error {
	if err := CheckIterations(iterations); err != nil {
		return err
	}
	if err := keys.check(); err != nil {
		return err
	}
	salt, err := randomBytes(rnd, saltSize)
	if err != nil {
		return fmt.Errorf("failed to create salt: %w", err)
	}
	pk, err := kdf(ctx, passphrase, KDFParams{Salt: salt, Iterations: iterations})
	if err != nil {
		return err
	}
	defer clear(pk)
	wrappedCipher, err := wrapKey(rnd, pk, keys.Cipher)
	if err != nil {
		return fmt.Errorf("failed to wrap cipher key: %w", err)
	}
	wrappedRouter, err := wrapKey(rnd, pk, keys.Router)
	if err != nil {
		return fmt.Errorf("failed to wrap router key: %w", err)
	}
	c.salt = base64.StdEncoding.EncodeToString(salt)
	c.saltBytes = salt
	c.iterations = iterations
	c.cipherKey = wrappedCipher
	c.routerKey = wrappedRouter
	return nil
}

// Unlock derives the password key from passphrase and unwraps the store's
// keys. A passphrase that does not unwrap them yields ErrWrongPassphrase.
func (c *Config) Unlock(passphrase []byte) (*Keys, error) {
	return c.UnlockContext(context.Background(), passphrase)
}

// UnlockContext is Unlock with a key derivation that stops, with ctx's
// error, when ctx is done: Ctrl-C must not wait for up to MaxIterations
// rounds.
func (c *Config) UnlockContext(ctx context.Context, passphrase []byte) (*Keys, error) {
	pk, err := deriveKey(ctx, passphrase, c.saltBytes, c.iterations)
	if err != nil {
		return nil, err
	}
	defer clear(pk)
	return c.UnlockKey(pk)
}

// UnlockKey unwraps the store's keys with a password key derived elsewhere
// (with c.KDFParams(); see KDF). A key that does not unwrap them yields
// ErrWrongPassphrase.
func (c *Config) UnlockKey(pk []byte) (*Keys, error) {
	if len(pk) != keySize {
		return nil, fmt.Errorf("a password key is %d bytes, got %d", keySize, len(pk))
	}
	ck, err := unwrapKey(pk, c.cipherKey)
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	rk, err := unwrapKey(pk, c.routerKey)
	if err != nil {
		// The passphrase is right, since the cipher key unwrapped.
		return nil, badConfig("config field shards.key failed to authenticate: the config is damaged")
	}
	if len(ck) != keySize || len(rk) != routerSize {
		return nil, badConfig("config holds keys of the wrong size")
	}
	return &Keys{Cipher: ck, Router: rk}, nil
}

// DeriveKey returns the password key: PBKDF2-HMAC-SHA256 of the NFKD
// normalised passphrase, 32 bytes. NFKD makes a passphrase typed on another
// system (composed or decomposed accents) unlock the same store. It returns
// nil when iterations is out of range (CheckIterations).
func DeriveKey(passphrase, salt []byte, iterations int) []byte {
	k, err := deriveKey(context.Background(), passphrase, salt, iterations)
	if err != nil {
		return nil
	}
	return k
}

// nfkd is the passphrase normalised as the format requires; it may be
// passphrase itself.
func nfkd(passphrase []byte) []byte { return norm.NFKD.Bytes(passphrase) }

// CheckIterations reports whether n is an acceptable PBKDF2 round count:
// from 1 to MaxIterations.
func CheckIterations(n int) error {
	if n < 1 || n > MaxIterations {
		return fmt.Errorf("iteration count must be from 1 to %d, got %d", MaxIterations, n)
	}
	return nil
}

func deriveKey(ctx context.Context, passphrase, salt []byte, iterations int) ([]byte, error) {
	if err := CheckIterations(iterations); err != nil {
		return nil, err
	}
	// A copy, not nfkd: that may return passphrase itself, which the
	// caller still needs, and pw is wiped.
	pw := NormalizePassphrase(passphrase)
	defer clear(pw)
	k, err := pbkdf2SHA256(ctx, pw, salt, iterations)
	if err != nil {
		return nil, fmt.Errorf("failed to derive key from passphrase: %w", err)
	}
	return k, nil
}

// ctxCheckEvery is how many PBKDF2 rounds run between looks at the context:
// about a millisecond.
const ctxCheckEvery = 4096

// pbkdf2SHA256 is PBKDF2-HMAC-SHA256 (RFC 8018) for one 32-byte block, the
// only size used, written out so that it can stop when ctx is done (the
// standard library's cannot be interrupted). The known-answer tests check
// it against crypto/pbkdf2.
func pbkdf2SHA256(ctx context.Context, password, salt []byte, iterations int) ([]byte, error) {
	prf := hmac.New(sha256.New, password)
	prf.Write(salt)
	prf.Write([]byte{0, 0, 0, 1})
	u := prf.Sum(make([]byte, 0, sha256.Size))
	t := bytes.Clone(u)
	for i := 1; i < iterations; i++ {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				clear(t)
				clear(u)
				return nil, err
			}
		}
		prf.Reset()
		prf.Write(u)
		u = prf.Sum(u[:0])
		subtle.XORBytes(t, t, u)
	}
	clear(u)
	return t, nil
}

// wrapKey is iv || AES-256-GCM(passwordKey, key) || tag, base64 with padding.
func wrapKey(rnd io.Reader, passwordKey, key []byte) (string, error) {
	aead, err := newGCM(passwordKey)
	if err != nil {
		return "", err
	}
	iv, err := randomBytes(rnd, ivSize)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(aead.Seal(iv, iv, key, nil)), nil
}

func unwrapKey(passwordKey []byte, wrapped string) ([]byte, error) {
	aead, err := newGCM(passwordKey)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(wrapped)
	if err != nil || len(b) < ivSize+tagSize {
		return nil, errors.New("malformed wrapped key")
	}
	return aead.Open(nil, b[:ivSize], b[ivSize:], nil)
}

// Marshal encodes the config as the reference writes it, JSON.stringify with
// two-space indentation: known fields in fixed order, then unknown ones.
func (c *Config) Marshal() ([]byte, error) {
	obj := func(known []field, extra []field) json.RawMessage {
		b := []byte{'{'}
		for i, f := range append(known, extra...) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, f.key)
			b = append(b, ':')
			b = append(b, f.value...)
		}
		return append(b, '}')
	}
	str := func(s string) json.RawMessage { return appendJSONString(nil, s) }
	num := func(n int) json.RawMessage { return strconv.AppendInt(nil, int64(n), 10) }
	compact := obj([]field{
		{"version", num(c.version)},
		{"password", obj([]field{{"salt", str(c.salt)}, {"iterations", num(c.iterations)}}, c.extraPassword)},
		{"cipher", obj([]field{{"key", str(c.cipherKey)}}, c.extraCipher)},
		{"shards", obj([]field{{"key", str(c.routerKey)}, {"n", num(c.shards)}}, c.extraShards)},
	}, append(c.retiredFields(), c.extra...))
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, fmt.Errorf("failed to encode config: %w", err)
	}
	return out.Bytes(), nil
}

// Retired is a shard count a migration moved the store away from: the
// files of that layout stay as sealed tombstones (design §8), so that a
// client still routing by it fails instead of writing where nobody reads.
// The reference ignores the member.
type Retired struct {
	N  int    // the old shard count
	ID string // the migration's id (Seal.ID)
}

// maxRetired bounds the list a hostile config can make us walk.
const maxRetired = 64

func parseRetired(raw json.RawMessage, shards int) ([]Retired, error) {
	var list []struct {
		N  int    `json:"n"`
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, badConfig("config field retired is not a list of {n, id} objects")
	}
	if len(list) > maxRetired {
		return nil, badConfig("config field retired lists more than %d layouts", maxRetired)
	}
	out := make([]Retired, len(list))
	for i, r := range list {
		s := Seal{ID: r.ID, To: r.N, At: "2006-01-02T15:04:05Z"}
		if err := s.check(); err != nil || r.N == shards {
			return nil, badConfig("config field retired has an invalid entry")
		}
		out[i] = Retired{N: r.N, ID: r.ID}
	}
	return out, nil
}

func (c *Config) retiredFields() []field {
	if len(c.retired) == 0 {
		return nil
	}
	b := []byte{'['}
	for i, r := range c.retired {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"n":%d,"id":%s}`, r.N, appendJSONString(nil, r.ID))
	}
	return []field{{"retired", append(b, ']')}}
}

// Retired lists the shard layouts the store was moved away from.
func (c *Config) Retired() []Retired { return slices.Clone(c.retired) }

// Resharded returns a copy of c routing to n shards, with the layout it
// leaves recorded as retired under the migration's id. A layout moved back
// to stops being retired: its files are live again.
func (c *Config) Resharded(n int, id string) *Config {
	out := c.rewrapCopy()
	out.salt, out.saltBytes, out.iterations = c.salt, c.saltBytes, c.iterations
	out.cipherKey, out.routerKey = c.cipherKey, c.routerKey
	out.retired = slices.DeleteFunc(out.retired, func(r Retired) bool { return r.N == n || r.N == c.shards })
	out.retired = append(out.retired, Retired{N: c.shards, ID: id})
	if len(out.retired) > maxRetired {
		out.retired = out.retired[len(out.retired)-maxRetired:]
	}
	out.shards = n
	return out
}
