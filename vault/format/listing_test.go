package format

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// A directory listing read from a store is validated like a path typed by
// the user; a bad one is a damaged item of its shard, and the error quotes
// none of its names (they may be secrets: a value line moved into the
// directory's slot).
func TestHostileListing(t *testing.T) {
	long := strings.Repeat("n", MaxPathLen-len("/dir/")+1)
	for name, c := range map[string]struct{ listing, want string }{
		"empty name":        {`["","secretA"]`, "name 1 of 2: empty"},
		"empty dir name":    {`["/","secretA"]`, "name 1 of 2: empty"},
		"slash inside":      {`["secretA/secretB"]`, "contains /"},
		"dot":               {`["."]`, `"." or ".."`},
		"dot dot dir":       {`["../"]`, `"." or ".."`},
		"control":           {`["secret\u0007A"]`, "control character"},
		"C1 control":        {`["secret\u0085A"]`, "control character"},
		"too long":          {`["` + long + `"]`, "longer than 4096"},
		"unsorted":          {`["secretB","secretA"]`, "not sorted or has duplicates (name 2 of 2)"},
		"duplicate":         {`["secretA","secretA"]`, "not sorted or has duplicates"},
		"byte order":        {`["` + "\ue000" + `","😀"]`, "not sorted"},
		"number":            {`["secretA",1]`, "not a JSON array of strings"},
		"null":              {`null`, "value is null"},
		"object":            {`{"secretA":1}`, "not a JSON array of strings"},
		"string":            {`"secretA"`, "not a JSON array of strings"},
		"nested":            {`[["secretA"]]`, "not a JSON array of strings"},
		"null inside":       {`["secretA",null]`, "name 2 of 2: empty"},
		"invalid UTF-8 esc": {`["\udc00secretA"]`, ""}, // a lone surrogate decodes to U+FFFD: valid
	} {
		t.Run(name, func(t *testing.T) {
			data := rawShard(t, map[string]string{"/dir/": c.listing, "/dir/x": `"v"`})
			s, err := ParseShard(testBlob, data, testKey)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = s.Get("/dir/")
			if c.want == "" {
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				return
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Blob != testBlob || ce.Item != "/dir/" || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Get = %v, want a CorruptError of %s, item /dir/", err, testBlob)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "nnnn") {
				t.Errorf("error quotes a name: %q", err)
			}
			if _, err := ParseListing("/dir/", []byte(c.listing)); err == nil {
				t.Error("ParseListing accepted it")
			}
			// The other items still read.
			if v, ok, err := s.Get("/dir/x"); err != nil || !ok || string(v) != `"v"` {
				t.Errorf("Get(/dir/x) = %s, %v, %v", v, ok, err)
			}
		})
	}
	for _, ok := range []string{`[]`, `["a","a/","b"]`, `["é","😀","` + "\ue000" + `"]`, ` [ "x" ] `} {
		if _, err := ParseListing("/dir/", []byte(ok)); err != nil {
			t.Errorf("ParseListing(%s) = %v", ok, err)
		}
	}
}

// An invalid path in an index is reported without quoting it.
func TestHostileIndexNotQuoted(t *testing.T) {
	data := mustEncode(t, testRand(8), map[string]string{"/a": `"x"`})
	lines := strings.Split(string(data), "\n")
	idx, err := EncryptItem(nil, testKey, []byte(`["secretA"]`))
	if err != nil {
		t.Fatal(err)
	}
	lines[1] = idx
	_, err = ParseShard(testBlob, []byte(strings.Join(lines, "\n")), testKey)
	if !errors.Is(err, ErrCorrupt) || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "does not start with /") {
		t.Errorf("ParseShard = %v", err)
	}
}

// rawShard encodes a shard of the given plaintexts as they are, valid or
// not: what a buggy client with the key could write.
func rawShard(t testing.TB, items map[string]string) []byte {
	t.Helper()
	var paths []string
	for p := range items {
		paths = append(paths, p)
	}
	Sort(paths)
	lines := []string{`{"version":1,"tag":"AAAAAAAAAAA="}`, mustLine(t, string(marshalStrings(paths)))}
	for _, p := range paths {
		lines = append(lines, mustLine(t, items[p]))
	}
	return []byte(strings.Join(lines, "\n"))
}

func mustLine(t testing.TB, plaintext string) string {
	t.Helper()
	line, err := EncryptItem(testRand(9), testKey, []byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// FuzzUnmarshalPlainStrings: where the fast decoder of string arrays
// answers, it answers what encoding/json does.
func FuzzUnmarshalPlainStrings(f *testing.F) {
	for _, s := range []string{`[]`, `[""]`, `["a","b/"]`, `["a", "b"]`, `["a\"b"]`, `["\u00e9"]`, "[\"\xff\"]",
		`["a",]`, `[,"a"]`, `["a""b"]`, `["a"`, `"a"]`, `[null]`, "[\"a\tb\"]", `["é","日本"]`, `["a","b",""]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := unmarshalPlainStrings(data)
		if !ok {
			return
		}
		var want []string
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("%q: fast decoder accepted what encoding/json refuses (%v)", data, err)
		}
		if !slices.Equal(got, want) || got == nil {
			t.Fatalf("%q: fast %q, encoding/json %q", data, got, want)
		}
	})
}

// The fast decoder answers for what marshalStrings writes, and leaves
// the rest to encoding/json.
func TestUnmarshalPlainStringsCoversOwnOutput(t *testing.T) {
	for _, names := range [][]string{{}, {"a"}, {"a", "b/", "日本", "x y"}} {
		if got, ok := unmarshalPlainStrings(marshalStrings(names)); !ok || !slices.Equal(got, names) {
			t.Errorf("%q: fast decoder gave %q, %v", names, got, ok)
		}
	}
	for _, s := range []string{`["a", "b"]`, `["a\"b"]`, "[\"\xff\"]", `[null]`, ` ["a"]`} {
		if _, ok := unmarshalPlainStrings([]byte(s)); ok {
			t.Errorf("%s: fast decoder answered", s)
		}
	}
}
