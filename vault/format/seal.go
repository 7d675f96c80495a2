package format

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// A sealed shard is how a store migration (a reshard or a key rotation,
// docs/design.md §8) stops every client that still routes by the old
// config. Its header carries a "moved" member; its second line, where a
// shard keeps its index, is the marker "moved", which no reader of the
// format can decrypt: the reference implementation ignores headers, so it
// fails there instead of treating the shard as empty and writing into a
// file nobody reads any more. Until the migration has switched the config
// the sealed shard keeps the lines it froze (index and items), so that any
// client holding the keys can finish or undo the migration after a crash.
//
//	{"version":1,"tag":"…","moved":{"id":"…","to":64,"at":"…"}}
//	moved
//	<the frozen index line>      (absent once emptied, or if the shard was)
//	<the frozen item lines…>

// ErrMoved matches a *MovedError.
var ErrMoved = errors.New("the store is being moved to another shard layout")

// sealMarker stands where the index line of a shard is.
const sealMarker = "moved"

// Seal is the "moved" member of a sealed shard's header.
type Seal struct {
	// ID names the migration: 32 hex digits, random.
	ID string
	// To is the shard count the store moves to.
	To int
	// At is when the migration started, by its writer's clock (RFC 3339).
	At string
	// Keys, on the migration's first shard only and only for a key
	// rotation, are the new keys encrypted as an item (SealKeys) under a
	// key derived from the passphrase with KeysSalt (base64) and KeysIter
	// rounds, so that whoever finishes the migration uses the same keys.
	// Not under the old cipher key: a rotation is for when the old keys
	// may have leaked, and a copy of this file (a file history) must not
	// hand the new ones to their holder.
	Keys     string
	KeysSalt string
	KeysIter int
}

// MovedError reports a shard that a migration sealed: the caller routed by
// an old config (re-read it) or the migration is still under way.
type MovedError struct {
	Blob string
	Seal Seal
}

func (e *MovedError) Error() string {
	return fmt.Sprintf("shard %s was sealed by a reshard to %d shards started %s", e.Blob, e.Seal.To, e.Seal.At)
}

func (e *MovedError) Is(target error) bool { return target == ErrMoved }

// NewSeal returns a seal with a fresh random id.
func NewSeal(rnd io.Reader, to int, at time.Time) (Seal, error) {
	id, err := randomBytes(rnd, 16)
	if err != nil {
		return Seal{}, err
	}
	return Seal{ID: hex.EncodeToString(id), To: to, At: at.UTC().Format(time.RFC3339)}, nil
}

type sealJSON struct {
	ID       string `json:"id"`
	To       int    `json:"to"`
	At       string `json:"at"`
	Keys     string `json:"keys,omitempty"`
	KeysSalt string `json:"salt,omitempty"`
	KeysIter int    `json:"iterations,omitempty"`
}

// maxSealKeys bounds the encrypted keys item: 96 bytes of keys in base64
// JSON, encrypted and base64-encoded again, is under 400 characters.
const maxSealKeys = 1024

func (s Seal) check() error {
	if len(s.ID) != 32 || strings.Trim(s.ID, "0123456789abcdef") != "" {
		return errors.New("its id is not 32 lowercase hex digits")
	}
	if s.To < 1 || s.To > MaxShards {
		return fmt.Errorf("its shard count is not between 1 and %d", MaxShards)
	}
	if _, err := time.Parse(time.RFC3339, s.At); err != nil || len(s.At) > 40 {
		return errors.New("its time is not an RFC 3339 time")
	}
	if len(s.Keys) > maxSealKeys {
		return errors.New("its keys are too long")
	}
	if s.Keys != "" || s.KeysSalt != "" || s.KeysIter != 0 {
		salt, err := base64.StdEncoding.DecodeString(s.KeysSalt)
		if s.Keys == "" || err != nil || len(salt) != saltSize || CheckIterations(s.KeysIter) != nil {
			return errors.New("its keys, salt and iteration count do not go together")
		}
	}
	return nil
}

// KDFParams are the parameters that derive the key Keys is under.
func (s Seal) KDFParams() KDFParams {
	salt, _ := base64.StdEncoding.DecodeString(s.KeysSalt)
	return KDFParams{Salt: salt, Iterations: s.KeysIter}
}

// WithoutKeys is s without the rotation's keys.
func (s Seal) WithoutKeys() Seal {
	s.Keys, s.KeysSalt, s.KeysIter = "", "", 0
	return s
}

// parseSeal reads the "moved" member of a header.
func parseSeal(raw json.RawMessage) (Seal, error) {
	var j sealJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return Seal{}, errors.New("its moved member is not an object of the expected fields")
	}
	s := Seal(j)
	return s, s.check()
}

// EncodeSeal returns the sealed form of a shard blob: frozen is the blob as
// it was read (nil for a shard that did not exist, or to empty a seal once
// the migration no longer needs what it froze).
func EncodeSeal(rnd io.Reader, seal Seal, frozen []byte) ([]byte, error) {
	if err := seal.check(); err != nil {
		return nil, fmt.Errorf("invalid seal: %w", err)
	}
	tag, err := randomBytes(rnd, headerTagSize)
	if err != nil {
		return nil, err
	}
	moved, err := json.Marshal(sealJSON(seal))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString(`{"version":1,"tag":"`)
	out.WriteString(base64.StdEncoding.EncodeToString(tag))
	out.WriteString(`","moved":`)
	out.Write(moved)
	out.WriteString("}\n" + sealMarker)
	if len(frozen) > 0 {
		_, rest, ok := bytes.Cut(frozen, []byte("\n"))
		if !ok {
			return nil, errors.New("invalid seal: the frozen shard has no index line")
		}
		out.WriteByte('\n')
		out.Write(rest)
	}
	return out.Bytes(), nil
}

// ParseSealed reads a blob that may be sealed. For a shard that is not
// sealed, seal is nil. For a sealed one, frozen is the shard blob it froze
// (with a fresh plain header; parse it with ParseShard) or nil when it
// froze nothing or was emptied. Nothing is decrypted.
func ParseSealed(blobID string, data []byte) (seal *Seal, frozen []byte, err error) {
	if len(data) == 0 {
		return nil, nil, nil
	}
	head, rest, _ := bytes.Cut(data, []byte("\n"))
	s, sealed, err := headerSeal(blobID, string(head))
	if err != nil || !sealed {
		return nil, nil, err
	}
	marker, frozenLines, more := bytes.Cut(rest, []byte("\n"))
	if string(marker) != sealMarker {
		return nil, nil, &CorruptError{Blob: blobID, Err: corruptDetail("sealed shard lacks its marker line")}
	}
	if more {
		frozen = append([]byte(`{"version":1}`+"\n"), frozenLines...)
	}
	return &s, frozen, nil
}

// headerSeal checks a header line and returns its seal, if it has one.
func headerSeal(blobID, line string) (Seal, bool, error) {
	if err := checkHeader(blobID, line); err != nil {
		var me *MovedError
		if errors.As(err, &me) {
			return me.Seal, true, nil
		}
		return Seal{}, false, err
	}
	return Seal{}, false, nil
}

// SealKeys encrypts new keys as an item under a 32-byte key, for
// Seal.Keys.
func SealKeys(rnd io.Reader, cipherKey []byte, k *Keys) (string, error) {
	if err := k.check(); err != nil {
		return "", err
	}
	pt, err := json.Marshal(map[string][]byte{"cipher": k.Cipher, "router": k.Router})
	if err != nil {
		return "", err
	}
	defer clear(pt)
	return EncryptItem(rnd, cipherKey, pt)
}

// OpenSealKeys decrypts Seal.Keys with the key it was sealed under.
func OpenSealKeys(cipherKey []byte, s string) (*Keys, error) {
	pt, err := DecryptItem(cipherKey, s)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	var m map[string][]byte
	if err := json.Unmarshal(pt, &m); err != nil {
		return nil, corruptDetail("the migration's keys are not a JSON object")
	}
	k := &Keys{Cipher: m["cipher"], Router: m["router"]}
	if err := k.check(); err != nil {
		return nil, corruptDetail("the migration's keys have the wrong sizes")
	}
	return k, nil
}

// Reroute spreads the items of parts over len(ids) new shards without
// decrypting them: route gives the new shard of each item (given the
// part's index and the path), or -1 to leave it out. Ciphertext lines move
// as they are, so every part must be under the same cipher key, and the
// new shards are under it too (see Rekeyed to change it). A path routed
// twice is an error.
func Reroute(parts []*Shard, ids []string, route func(part int, path string) int) ([]*Shard, error) {
	out := make([]*Shard, len(ids))
	for i, id := range ids {
		out[i] = &Shard{blob: id}
	}
	var key []byte
	for pi, p := range parts {
		if p.key != nil {
			if key == nil {
				key = p.key
			} else if !bytes.Equal(key, p.key) {
				return nil, errors.New("reroute: parts are under different cipher keys")
			}
		}
		for i, path := range p.paths {
			j := route(pi, path)
			if j < 0 {
				continue
			}
			if j >= len(out) {
				return nil, fmt.Errorf("reroute: shard %d out of range", j)
			}
			out[j].paths = append(out[j].paths, path)
			out[j].items = append(out[j].items, p.items[i])
		}
	}
	for _, s := range out {
		if key != nil {
			aead, err := newGCM(key)
			if err != nil {
				return nil, err
			}
			s.key, s.aead = bytes.Clone(key), aead
		}
		sort.Sort(byPath{s})
		for i := 1; i < len(s.paths); i++ {
			if s.paths[i-1] == s.paths[i] {
				return nil, errors.New("reroute: two parts hold the same path")
			}
		}
	}
	return out, nil
}

// byPath sorts a shard's paths and items together.
type byPath struct{ s *Shard }

func (b byPath) Len() int           { return len(b.s.paths) }
func (b byPath) Less(i, j int) bool { return Compare(b.s.paths[i], b.s.paths[j]) < 0 }
func (b byPath) Swap(i, j int) {
	b.s.paths[i], b.s.paths[j] = b.s.paths[j], b.s.paths[i]
	b.s.items[i], b.s.items[j] = b.s.items[j], b.s.items[i]
}

// Rekeyed returns a copy of s with every value decrypted and nothing kept
// of its ciphertext, so that Encode writes it under any cipher key: a key
// rotation. A damaged item is an error naming it.
func (s *Shard) Rekeyed() (*Shard, error) {
	out := &Shard{blob: s.blob, paths: slices.Clone(s.paths), items: make([]*item, len(s.items))}
	for i := range s.paths {
		v, owned, err := s.plaintext(i)
		if err != nil {
			return nil, err
		}
		if !owned {
			v = bytes.Clone(v)
		}
		out.items[i] = newSetItem(v, nil)
	}
	return out, nil
}
