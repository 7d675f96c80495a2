package format

import (
	"bytes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// headerTagSize is the size of the random header tag, which makes every
// write of a shard differ so that a content hash used as revision always
// changes.
const headerTagSize = 8

// Shard is the content of one shard blob: a sorted set of paths and their
// JSON values.
//
// A parsed Shard decrypts its index only; a value is decrypted on each Get
// and not kept: a cache of plaintexts held every value an export or an
// import had read (tens of MB of secrets at 100,000 entries) for the whole
// task. Get, Paths, Len, Has, Clone, SameContent and Encode are safe for
// concurrent use; Set and Delete are not, and are meant for a Clone owned
// by one goroutine, leaving the shard it was cloned from untouched.
type Shard struct {
	blob string
	// key and aead are the cipher key the stored lines are under; nil for
	// a shard that was never read from a blob.
	key   []byte
	aead  cipher.AEAD
	paths []string
	items []*item
	// index is the encrypted index line as read, "" once the set of paths
	// changed.
	index string
	// size is the length of the blob the shard was read from or encoded
	// to (0 for a new shard), kept by its clones.
	size int
}

// item is one value: a stored line (read from a blob or encoded, kept on
// Encode) or a value set. Items are shared between clones and never
// modified after creation. A stored item is 24 bytes: a shard holds one
// per path, 200,000 of them in a store of 100,000 entries.
type item struct {
	line string   // a stored item's ciphertext
	set  *setItem // a set item's value; nil for a stored item
}

type setItem struct {
	value []byte // plaintext
	err   error  // why it cannot be stored
}

// newSetItem returns a set item, in one allocation with its value.
func newSetItem(v []byte, err error) *item {
	both := &struct {
		it  item
		set setItem
	}{set: setItem{v, err}}
	both.it.set = &both.set
	return &both.it
}

func (it *item) stored() bool { return it.set == nil }

// EmptyShard returns a shard with no items, the content of a blob that does
// not exist.
func EmptyShard() *Shard { return &Shard{} }

// ParseShard parses a shard blob and decrypts its index. Empty data is an
// empty shard, so that a missing blob can be treated the same way. The
// shard keeps data as the text of its lines, without a copy (a copy of
// four 12 MB shards read at once was most of an export's peak): the caller
// must not modify data afterwards. Errors
// for damaged data are *CorruptError naming blobID; a header of another
// version is a *VersionError; a shard sealed by a migration is a
// *MovedError (see ParseSealed).
func ParseShard(blobID string, data []byte, cipherKey []byte) (*Shard, error) {
	aead, err := newGCM(cipherKey)
	if err != nil {
		return nil, fmt.Errorf("failed to read shard %s: cipher %w", blobID, err)
	}
	s := &Shard{blob: blobID, key: bytes.Clone(cipherKey), aead: aead, size: len(data)}
	if len(data) == 0 {
		return s, nil
	}
	damaged := func(err error) error { return &CorruptError{Blob: blobID, Err: err} }

	lines := strings.Split(unsafe.String(unsafe.SliceData(data), len(data)), "\n")
	if err := checkHeader(blobID, lines[0]); err != nil {
		return nil, err
	}
	if len(lines) < 2 {
		return nil, damaged(corruptDetail("index line missing"))
	}
	s.index = lines[1]
	pt, err := decryptItem(aead, s.index)
	if err != nil {
		return nil, damaged(fmt.Errorf("failed to decrypt index: %w", err))
	}
	if s.paths, err = unmarshalStrings(pt); err != nil {
		return nil, damaged(corruptDetail("index is not a JSON array of strings"))
	}
	for i, p := range s.paths {
		var pe *PathError
		if errors.As(CheckPath(p), &pe) {
			// Never quote it: an index that fails the checks may be a
			// value line moved into the index slot.
			return nil, damaged(corruptDetail(fmt.Sprintf("index holds an invalid path (entry %d of %d: %s)", i+1, len(s.paths), pe.Reason)))
		}
		if i > 0 && Compare(s.paths[i-1], p) >= 0 {
			return nil, damaged(corruptDetail("index is not sorted or has duplicates"))
		}
	}
	if got := len(lines) - 2; got != len(s.paths) {
		return nil, damaged(corruptDetail(fmt.Sprintf("index lists %d items but shard has %d item lines", len(s.paths), got)))
	}
	// One allocation for all items rather than one each: a get on a
	// 25,000-item shard made 25,000 small objects for the GC to scan.
	slab := make([]item, len(s.paths))
	s.items = make([]*item, len(s.paths))
	for i, line := range lines[2:] {
		slab[i].line = line
		s.items[i] = &slab[i]
	}
	return s, nil
}

func checkHeader(blobID, line string) error {
	damaged := func(msg string) error { return &CorruptError{Blob: blobID, Err: corruptDetail(msg)} }
	var h map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &h); err != nil || h == nil {
		return damaged("header is not a JSON object")
	}
	v, ok := h["version"]
	if !ok {
		return damaged("header has no version")
	}
	version, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return damaged("header version is not an integer")
	}
	if version != 1 {
		return &VersionError{Blob: blobID, Version: version}
	}
	if raw, ok := h["moved"]; ok {
		seal, err := parseSeal(raw)
		if err != nil {
			return damaged("header marks the shard as moved, but " + err.Error())
		}
		return &MovedError{Blob: blobID, Seal: seal}
	}
	return nil
}

// Blob returns the blob id the shard was parsed from, used in errors.
func (s *Shard) Blob() string { return s.blob }

// Paths returns the paths in the shard, in JavaScript order.
func (s *Shard) Paths() []string { return slices.Clone(s.paths) }

// Size returns the length of the blob the shard was read from or last
// encoded to, 0 for a shard that was neither: what writing it again will
// about cost.
func (s *Shard) Size() int { return s.size }

// Len returns the number of items.
func (s *Shard) Len() int { return len(s.paths) }

// Has reports whether the shard holds path.
func (s *Shard) Has(path string) bool {
	_, ok := s.find(path)
	return ok
}

func (s *Shard) find(path string) (int, bool) {
	return slices.BinarySearchFunc(s.paths, path, Compare)
}

// Get returns the value of path, decrypting only that item. A damaged item
// yields a *CorruptError naming the shard and path; other items stay
// readable.
func (s *Shard) Get(path string) (json.RawMessage, bool, error) {
	i, ok := s.find(path)
	if !ok {
		return nil, false, nil
	}
	v, owned, err := s.plaintext(i)
	if err != nil {
		return nil, true, err
	}
	if !owned {
		v = bytes.Clone(v)
	}
	return v, true, nil
}

// plaintext returns the value of item i. A stored item is decrypted anew
// into a buffer that is the caller's (owned); a set item's value is
// shared, and callers must not modify it.
func (s *Shard) plaintext(i int) (v []byte, owned bool, err error) {
	it := s.items[i]
	if !it.stored() {
		return it.set.value, false, it.set.err
	}
	path := s.paths[i]
	v, err = decryptItem(s.aead, it.line)
	if err == nil {
		err = checkValue(path, v)
	}
	if err != nil {
		clear(v)
		return nil, false, &CorruptError{Blob: s.blob, Item: path, Err: err}
	}
	return v, true, nil
}

// wipeOwned clears a decrypted value once compared: plaintext is not left
// in memory longer than its use.
func wipeOwned(v []byte, owned bool) {
	if owned {
		clear(v)
	}
}

// checkValue rejects what may not be stored: text that is not JSON, null
// (which means absent), and a directory that is not a list of names.
func checkValue(path string, v []byte) error {
	if !json.Valid(v) {
		return corruptDetail("value is not valid JSON")
	}
	if isNull(v) {
		return corruptDetail("value is null")
	}
	if IsDir(path) {
		if _, err := ParseListing(path, v); err != nil {
			return err
		}
	}
	return nil
}

// Clone returns a copy that Set and Delete may change without affecting s.
// Values are shared.
func (s *Shard) Clone() *Shard {
	c := *s
	c.paths = slices.Clone(s.paths)
	c.items = slices.Clone(s.items)
	return &c
}

// Set stores value at path. Setting the value an item already has keeps its
// ciphertext, so that Encode rewrites nothing for it. An invalid path or a
// value that is not storable JSON is reported by Encode.
func (s *Shard) Set(path string, value json.RawMessage) {
	v, err := setValue(path, value)
	i, ok := s.find(path)
	if ok {
		if s.sameValue(i, v, err) {
			return
		}
		s.items[i] = newSetItem(v, err)
		return
	}
	s.paths = slices.Insert(s.paths, i, path)
	s.items = slices.Insert(s.items, i, newSetItem(v, err))
	s.index = ""
}

// setValue is the stored form of a value set for path, compacted, or the
// error Encode will report for it.
func setValue(path string, value json.RawMessage) ([]byte, error) {
	v := value
	var err error
	var buf bytes.Buffer
	buf.Grow(len(value))
	if cerr := json.Compact(&buf, value); cerr != nil {
		v = bytes.Clone(value)
		err = fmt.Errorf("value set for %q is not valid JSON", path)
	} else {
		v = buf.Bytes()
		if isNull(v) {
			err = fmt.Errorf("value set for %q is null; delete the item instead", path)
		} else if IsDir(path) {
			if _, lerr := unmarshalStrings(v); lerr != nil {
				err = fmt.Errorf("value set for directory %q is not a JSON array of strings", path)
			}
		}
	}
	if perr := CheckPath(path); perr != nil {
		err = perr
	}
	return v, err
}

// sameValue reports whether item i already holds v (a valid value), so
// that setting it keeps the item and its ciphertext.
func (s *Shard) sameValue(i int, v []byte, err error) bool {
	old, owned, oerr := s.plaintext(i)
	defer wipeOwned(old, owned)
	return err == nil && oerr == nil && bytes.Equal(old, v)
}

// Edit is one change of a batch for Apply: a nil Value deletes Path.
type Edit struct {
	Path  string
	Value json.RawMessage
}

// Apply returns a copy of s with the edits made, as Set and Delete on a
// Clone would make them, one after another (a later edit of a path wins),
// leaving s untouched. It merges the edits into the sorted items in one
// pass: a group of 4,096 new documents made one at a time with Set moved
// the shard's whole index once per document.
func (s *Shard) Apply(edits []Edit) *Shard {
	last := make(map[string]int, len(edits))
	for i, e := range edits {
		last[e.Path] = i
	}
	sorted := make([]Edit, 0, len(last))
	for i, e := range edits {
		if last[e.Path] == i {
			sorted = append(sorted, e)
		}
	}
	slices.SortFunc(sorted, func(a, b Edit) int { return Compare(a.Path, b.Path) })
	next := *s
	next.paths = make([]string, 0, len(s.paths)+len(sorted))
	next.items = make([]*item, 0, len(s.paths)+len(sorted))
	changedSet := false
	i := 0
	for _, e := range sorted {
		for i < len(s.paths) && Compare(s.paths[i], e.Path) < 0 {
			next.paths = append(next.paths, s.paths[i])
			next.items = append(next.items, s.items[i])
			i++
		}
		present := i < len(s.paths) && s.paths[i] == e.Path
		switch {
		case e.Value == nil && present:
			changedSet = true
			i++
		case e.Value == nil:
		default:
			v, err := setValue(e.Path, e.Value)
			it := newSetItem(v, err)
			if present {
				if s.sameValue(i, v, err) {
					it = s.items[i]
				}
				i++
			} else {
				changedSet = true
			}
			next.paths = append(next.paths, e.Path)
			next.items = append(next.items, it)
		}
	}
	next.paths = append(next.paths, s.paths[i:]...)
	next.items = append(next.items, s.items[i:]...)
	if changedSet {
		next.index = ""
	}
	return &next
}

// Delete removes path from the shard, if present.
func (s *Shard) Delete(path string) {
	i, ok := s.find(path)
	if !ok {
		return
	}
	s.paths = slices.Delete(s.paths, i, i+1)
	s.items = slices.Delete(s.items, i, i+1)
	s.index = ""
}

// SameContent reports whether s and o hold the same paths with the same
// values, so that writing one over the other would change nothing but the
// tag. Values compare by ciphertext when both are stored lines, otherwise
// by their JSON text.
func (s *Shard) SameContent(o *Shard) bool {
	if o == nil {
		o = EmptyShard()
	}
	if !slices.Equal(s.paths, o.paths) {
		return false
	}
	for i, a := range s.items {
		b := o.items[i]
		if a == b || (a.stored() && b.stored() && a.line == b.line) {
			continue
		}
		va, ownedA, err := s.plaintext(i)
		if err != nil {
			return false
		}
		vb, ownedB, err := o.plaintext(i)
		same := err == nil && bytes.Equal(va, vb)
		wipeOwned(va, ownedA)
		wipeOwned(vb, ownedB)
		if !same {
			return false
		}
	}
	return true
}

// Encode returns the blob for the shard. It writes a new random tag, keeps
// the ciphertext line of every unchanged item, encrypts the changed ones
// and keeps the index line if the set of paths did not change. cipherKey
// must be the key the shard was parsed with.
//
// The returned blob parses (ParseShard) into the shard's new baseline.
func (s *Shard) Encode(rnd io.Reader, cipherKey []byte) ([]byte, error) {
	data, _, err := s.EncodeState(rnd, cipherKey)
	return data, err
}

// EncodeState is Encode that also returns the new baseline: the shard that
// ParseShard would make of the blob, with every line stored, so that a
// writer need not parse again what it has just written (that was 18% of an
// import's CPU). Like a parsed shard's, its items are decrypted on Get:
// keeping their plaintext too was 41 MB of the live heap of an import of
// 100,000 entries, which reads hardly any of them again.
func (s *Shard) EncodeState(rnd io.Reader, cipherKey []byte) ([]byte, *Shard, error) {
	fail := func(err error) ([]byte, *Shard, error) {
		if s.blob == "" {
			return nil, nil, fmt.Errorf("failed to encode shard: %w", err)
		}
		return nil, nil, fmt.Errorf("failed to encode shard %s: %w", s.blob, err)
	}
	aead := s.aead
	if s.key == nil || subtle.ConstantTimeCompare(s.key, cipherKey) != 1 {
		// Unchanged lines are under s.key and cannot move to another key.
		if s.key != nil && s.hasStoredLines() {
			return fail(errors.New("cipher key differs from the one the shard was read with"))
		}
		var err error
		if aead, err = newGCM(cipherKey); err != nil {
			return fail(fmt.Errorf("cipher %w", err))
		}
	}
	tag, err := randomBytes(rnd, headerTagSize)
	if err != nil {
		return fail(err)
	}
	index := s.index
	if index == "" {
		if index, err = encryptItem(rnd, aead, marshalStrings(s.paths)); err != nil {
			return fail(fmt.Errorf("index: %w", err))
		}
	}
	// Encrypt the changed items first, so that the blob is allocated once
	// at its final size (it is most of what a large import allocates).
	next := &Shard{blob: s.blob, key: bytes.Clone(cipherKey), aead: aead,
		paths: slices.Clone(s.paths), items: make([]*item, len(s.items)), index: index}
	// Each changed item is its own allocation, not a slot of one slab per
	// write: a slab stays whole while any of its items is live, so the
	// directory listings rewritten in every round of an import kept every
	// superseded version of themselves (tens of MB at 100,000 entries)
	// beside the documents written in the same round.
	n := len(index)
	for i, it := range s.items {
		if it.stored() {
			next.items[i] = it
			n += len(it.line) + 1
			continue
		}
		if it.set.err != nil {
			return fail(it.set.err)
		}
		line, err := encryptItem(rnd, aead, it.set.value)
		if err != nil {
			return fail(fmt.Errorf("item %q: %w", s.paths[i], err))
		}
		next.items[i] = &item{line: line}
		n += len(line) + 1
	}
	out := make([]byte, 0, n+64)
	out = append(out, `{"version":1,"tag":"`...)
	out = base64.StdEncoding.AppendEncode(out, tag)
	out = append(out, `"}`...)
	out = append(out, '\n')
	out = append(out, index...)
	for _, it := range next.items {
		out = append(out, '\n')
		out = append(out, it.line...)
	}
	next.size = len(out)
	return out, next, nil
}

func (s *Shard) hasStoredLines() bool {
	if s.index != "" {
		return true
	}
	for _, it := range s.items {
		if it.stored() {
			return true
		}
	}
	return false
}
