package format

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzCheckPath(f *testing.F) {
	for _, p := range []string{"/", "/a", "/a/", "/a/b/c", "//", "/./", "/..", "a", "", "/a\x00", "/\xff", "/é/😀/\ue000", "/a\u0085b"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := CheckPath(p)
		parent, name, anc := Parent(p), Name(p), Ancestors(p)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("CheckPath(%q) = %v, not ErrInvalidPath", p, err)
			}
			return
		}
		if p[0] != '/' || !utf8.ValidString(p) || len(p) > MaxPathLen || strings.Contains(p, "//") {
			t.Fatalf("CheckPath accepted %q", p)
		}
		if (CheckDoc(p) == nil) == (CheckDir(p) == nil) {
			t.Fatalf("%q is both or neither document and directory", p)
		}
		if p == "/" {
			if parent != "" || name != "" || anc != nil {
				t.Fatalf("parts of /: %q %q %q", parent, name, anc)
			}
			return
		}
		if parent+name != p || CheckDir(parent) != nil || name == "" {
			t.Fatalf("Parent(%q) = %q, Name = %q", p, parent, name)
		}
		if len(anc) == 0 || anc[0] != "/" || anc[len(anc)-1] != parent {
			t.Fatalf("Ancestors(%q) = %q", p, anc)
		}
		for i, a := range anc {
			if CheckDir(a) != nil || (i > 0 && Parent(a) != anc[i-1]) {
				t.Fatalf("Ancestors(%q) = %q", p, anc)
			}
		}
		if Compare(p, p) != 0 || Compare(parent, p) != -1 {
			t.Fatalf("Compare of %q and its parent", p)
		}
	})
}

func FuzzParseShard(f *testing.F) {
	data := mustEncode(f, testRand(1), map[string]string{
		"/": `["a","d/"]`, "/a": `"x"`, "/d/": `["e"]`, "/d/e": `{"k":[1]}`,
	})
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte{})
	f.Add(mustEncode(f, testRand(2), nil))
	f.Add([]byte(`{"version":2,"tag":"AAAAAAAAAAA="}` + "\n"))
	f.Add([]byte(strings.Replace(string(data), "\n", "\r\n", -1)))
	seal := Seal{ID: "0123456789abcdef0123456789abcdef", To: 8, At: "2026-12-03T12:00:00Z"}
	sealed, err := EncodeSeal(testRand(3), seal, data)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Fuzz(func(t *testing.T, data []byte) {
		if seal, frozen, err := ParseSealed(testBlob, data); err == nil && seal != nil && frozen != nil {
			// What a seal froze parses like any shard (or fails cleanly).
			if _, err := ParseShard(testBlob, frozen, testKey); err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) && !errors.Is(err, ErrMoved) {
				t.Fatalf("frozen shard: %v", err)
			}
		}
		s, err := ParseShard(testBlob, data, testKey)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) && !errors.Is(err, ErrMoved) {
				t.Fatalf("ParseShard error %v matches none of ErrCorrupt, ErrUnsupportedVersion, ErrMoved", err)
			}
			return
		}
		for _, p := range s.Paths() {
			if _, ok, err := s.Get(p); !ok || (err != nil && !errors.Is(err, ErrCorrupt)) {
				t.Fatalf("Get(%q) = %v, %v", p, ok, err)
			}
		}
		// Whatever parsed re-encodes to the same content.
		out, err := s.Encode(testRand(3), testKey)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseShard(testBlob, out, testKey)
		if err != nil {
			t.Fatalf("re-encoded shard does not parse: %v", err)
		}
		if !slices.Equal(s.Paths(), s2.Paths()) || !s2.SameContent(s) {
			t.Fatal("re-encoded shard differs")
		}
		c := s.Clone()
		c.Set("/fuzz", json.RawMessage(`1`))
		if _, err := c.Encode(testRand(4), testKey); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"reference-v1-1shard", "reference-v1-4shards"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name, "store", "config"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(validConfig))
	f.Add([]byte(strings.Replace(validConfig, `"n": 2`, `"n": 2, "x": {"y": [1, {}]}, "n": 3`, 1)))
	f.Add([]byte(`{"version": 2}`))
	f.Add([]byte(`{"version": 1, "password": null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrBadConfig) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("ParseConfig error %v matches neither ErrBadConfig nor ErrUnsupportedVersion", err)
			}
			return
		}
		if c.Shards() < 1 || c.Shards() > MaxShards || c.Iterations() < 1 {
			t.Fatalf("accepted shards %d, iterations %d", c.Shards(), c.Iterations())
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		c2, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("marshalled config does not parse: %v\n%s", err, out)
		}
		out2, err := c2.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(out2) || c2.Shards() != c.Shards() || c2.Iterations() != c.Iterations() {
			t.Fatalf("Marshal is not stable:\n%s\n%s", out, out2)
		}
	})
}
