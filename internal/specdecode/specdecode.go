// Package specdecode is an independent decoder of store format v1, for
// tests only: written from the design (docs and design §2), it shares no code
// with the engine or vault/format, so what the engine writes is checked
// against the format, not against the engine reading itself. The model
// checker, the interop tests and the engine's tests use it to check the
// safety invariant.
package specdecode

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"
)

// Store is a decoded store: every document and directory listing.
type Store struct {
	Shards int
	Docs   map[string]json.RawMessage
	Dirs   map[string][]string
}

func specOpen(key, blob []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(blob) < 12+16 {
		return nil, fmt.Errorf("sealed blob too short")
	}
	return gcm.Open(nil, blob[:12], blob[12:], nil)
}

func specItem(cipherKey []byte, line string) ([]byte, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(line)
	if err != nil {
		return nil, err
	}
	if len(raw) < 2+12+48+12+16 || binary.BigEndian.Uint16(raw) != 1 {
		return nil, fmt.Errorf("bad item header")
	}
	itemKey, err := specOpen(cipherKey, raw[2:2+12+48])
	if err != nil {
		return nil, fmt.Errorf("item key: %w", err)
	}
	return specOpen(itemKey, raw[2+12+48:])
}

func jsLess(a, b string) bool {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b))) < 0
}

// Decode decodes every blob of a store. blobs maps blob id to content.
func Decode(blobs map[string][]byte, passphrase string) (*Store, error) {
	var cfg struct {
		Version  int
		Password struct {
			Salt       string
			Iterations int
		}
		Cipher struct{ Key string }
		Shards struct {
			Key string
			N   int
		}
	}
	if err := json.Unmarshal(blobs["config"], &cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if cfg.Version != 1 {
		return nil, fmt.Errorf("config version %d", cfg.Version)
	}
	salt, err := base64.StdEncoding.DecodeString(cfg.Password.Salt)
	if err != nil || len(salt) != 32 {
		return nil, fmt.Errorf("salt: %v (%d bytes)", err, len(salt))
	}
	pw, err := pbkdf2.Key(sha256.New, norm.NFKD.String(passphrase), salt, cfg.Password.Iterations, 32)
	if err != nil {
		return nil, err
	}
	unwrap := func(s string, n int) ([]byte, error) {
		raw, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil {
			return nil, err
		}
		k, err := specOpen(pw, raw)
		if err == nil && len(k) != n {
			err = fmt.Errorf("key is %d bytes, want %d", len(k), n)
		}
		return k, err
	}
	cipherKey, err := unwrap(cfg.Cipher.Key, 32)
	if err != nil {
		return nil, fmt.Errorf("cipher key: %w", err)
	}
	routerKey, err := unwrap(cfg.Shards.Key, 64)
	if err != nil {
		return nil, fmt.Errorf("router key: %w", err)
	}
	n := cfg.Shards.N
	boundary := func(i int) int { return (65536*i*2 + n) / (2 * n) } // round half up
	blobOf := func(path string) string {
		m := hmac.New(sha256.New, routerKey)
		m.Write([]byte(path))
		id := int(binary.BigEndian.Uint16(m.Sum(nil)))
		for i := 0; i < n; i++ {
			if id >= boundary(i) && id < boundary(i+1) {
				return fmt.Sprintf("shard-%04x-%04x", boundary(i), boundary(i+1)-1)
			}
		}
		panic("unreachable")
	}
	out := &Store{Shards: n, Docs: map[string]json.RawMessage{}, Dirs: map[string][]string{}}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("shard-%04x-%04x", boundary(i), boundary(i+1)-1)
		data, ok := blobs[id]
		if !ok || len(data) == 0 {
			continue
		}
		if strings.HasSuffix(string(data), "\n") {
			return nil, fmt.Errorf("%s: trailing newline", id)
		}
		lines := strings.Split(string(data), "\n")
		var hdr struct {
			Version int    `json:"version"`
			Tag     string `json:"tag"`
		}
		if err := json.Unmarshal([]byte(lines[0]), &hdr); err != nil || hdr.Version != 1 {
			return nil, fmt.Errorf("%s: header %q", id, lines[0])
		}
		if tag, err := base64.StdEncoding.Strict().DecodeString(hdr.Tag); err != nil || len(tag) != 8 {
			return nil, fmt.Errorf("%s: tag %q", id, hdr.Tag)
		}
		if want := fmt.Sprintf(`{"version":1,"tag":%q}`, hdr.Tag); lines[0] != want {
			return nil, fmt.Errorf("%s: header %q, want %q", id, lines[0], want)
		}
		if len(lines) < 2 {
			return nil, fmt.Errorf("%s: no index", id)
		}
		idx, err := specItem(cipherKey, lines[1])
		if err != nil {
			return nil, fmt.Errorf("%s: index: %w", id, err)
		}
		var paths []string
		if err := json.Unmarshal(idx, &paths); err != nil {
			return nil, fmt.Errorf("%s: index: %w", id, err)
		}
		if len(lines) != 2+len(paths) {
			return nil, fmt.Errorf("%s: %d lines for %d items", id, len(lines), len(paths))
		}
		for j, p := range paths {
			if j > 0 && !jsLess(paths[j-1], p) {
				return nil, fmt.Errorf("%s: index not in JavaScript order at %q", id, p)
			}
			if blobOf(p) != id {
				return nil, fmt.Errorf("%s: item %q belongs in %s", id, p, blobOf(p))
			}
			v, err := specItem(cipherKey, lines[2+j])
			if err != nil {
				return nil, fmt.Errorf("%s: item %q: %w", id, p, err)
			}
			if !json.Valid(v) {
				return nil, fmt.Errorf("%s: item %q is not JSON", id, p)
			}
			if strings.HasSuffix(p, "/") {
				var names []string
				if err := json.Unmarshal(v, &names); err != nil {
					return nil, fmt.Errorf("%s: directory %q: %w", id, p, err)
				}
				for k := 1; k < len(names); k++ {
					if !jsLess(names[k-1], names[k]) {
						return nil, fmt.Errorf("directory %q not sorted", p)
					}
				}
				out.Dirs[p] = names
			} else {
				out.Docs[p] = v
			}
		}
	}
	return out, nil
}

// Invariant checks the safety invariant: every document's ancestors exist
// and list the next name on the way down.
func (d *Store) Invariant() error {
	for p := range d.Docs {
		segs := strings.Split(p[1:], "/")
		dir := "/"
		for i, s := range segs {
			name := s
			if i < len(segs)-1 {
				name += "/"
			}
			names, ok := d.Dirs[dir]
			if !ok {
				return fmt.Errorf("document %s: directory %s missing", p, dir)
			}
			if !slices.Contains(names, name) {
				return fmt.Errorf("document %s: directory %s does not list %q (lists %q)", p, dir, name, names)
			}
			dir += name
		}
	}
	return nil
}
