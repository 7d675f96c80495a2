package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzAuthenticShard encrypts its input under the store's key before
// parsing, so that mutations reach the parsers behind GCM: a shard that
// authenticates but holds anything at all, which is what a buggy client
// (or one that holds the key) can write. The input is the plaintexts of
// the lines, separated by a zero byte: the index, then one per item.
//
// Beyond "no panic, typed errors", it checks: every path of a parsed
// shard is valid; a directory that reads has a listing of valid, sorted,
// distinct names whose child paths lie strictly below it (so a recursive
// walk ends); no error quotes a value (values carrying the marker SECRET
// never show in an error unless a path holds it too); and what parsed
// re-encodes to the same content.
func FuzzAuthenticShard(f *testing.F) {
	seed := func(lines ...string) { f.Add([]byte(strings.Join(lines, "\x00"))) }
	seed(`["/","/a","/d/","/d/e"]`, `["a","d/"]`, `"SECRETx"`, `["e"]`, `{"k":["SECRET"]}`)
	seed(`["/","/d/"]`, `["","d/"]`, `["","SECRET"]`)
	seed(`["/d/"]`, `["SECRET/x"]`)
	seed(`["/d/"]`, `["b","a"]`)
	seed(`["/d/"]`, `["a","a"]`)
	seed(`["/d/"]`, `["a",null]`)
	seed(`["/d/"]`, `null`)
	seed(`["/d/"]`, `["\u0000SECRET"]`)
	seed(`["/d/"]`, `["..","."]`)
	seed(`["SECRET"]`, `1`)
	seed(`["/a","/a"]`, `1`, `2`)
	seed(`[]`)
	seed(`["/x"]`, `"\ud800SECRET"`)
	seed(`["/😀","/`+"\ue000"+`"]`, `1`, `2`)
	seed(`["/a"]`, ` `)
	f.Fuzz(func(t *testing.T, in []byte) {
		parts := bytes.Split(in, []byte{0})
		lines := []string{`{"version":1,"tag":"AAAAAAAAAAA="}`}
		rnd := testRand(42)
		for _, p := range parts {
			line, err := EncryptItem(rnd, testKey, p)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, line)
		}
		index := string(parts[0])
		s, err := ParseShard(testBlob, []byte(strings.Join(lines, "\n")), testKey)
		leaks := func(err error) {
			if err != nil && strings.Contains(err.Error(), "SECRET") && !strings.Contains(index, "SECRET") {
				t.Fatalf("error quotes a value: %v", err)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ParseShard error %v does not match ErrCorrupt", err)
			}
			leaks(err)
			return
		}
		for _, p := range s.Paths() {
			if err := CheckPath(p); err != nil {
				t.Fatalf("parsed shard holds invalid path: %v", err)
			}
			v, ok, err := s.Get(p)
			if !ok {
				t.Fatalf("Get(%q) not found", p)
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Get(%q) = %v, not ErrCorrupt", p, err)
				}
				leaks(err)
				continue
			}
			if !IsDir(p) {
				continue
			}
			names, err := ParseListing(p, v)
			if err != nil {
				t.Fatalf("directory %q read but its listing does not parse: %v", p, err)
			}
			for i, n := range names {
				child := p + n
				if CheckPath(child) != nil || Parent(child) != p || Name(child) != n || len(child) <= len(p) {
					t.Fatalf("listing of %q holds %q: child %q is not a path right below it", p, n, child)
				}
				if i > 0 && Compare(names[i-1], n) >= 0 {
					t.Fatalf("listing of %q not sorted: %q", p, names)
				}
			}
		}
		out, err := s.Encode(testRand(43), testKey)
		if err != nil {
			// Encode refuses only values that failed to decrypt or parse.
			leaks(err)
			return
		}
		s2, err := ParseShard(testBlob, out, testKey)
		if err != nil {
			t.Fatalf("re-encoded shard does not parse: %v", err)
		}
		if !s2.SameContent(s) {
			t.Fatal("re-encoded shard differs")
		}
	})
}
