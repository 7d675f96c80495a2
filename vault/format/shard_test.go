package format

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

const testBlob = "shard-0000-7fff"

var smallValues = map[string]string{
	"/":    `["a","b/"]`,
	"/a":   `"alpha"`,
	"/b/":  `["c"]`,
	"/b/c": `{"user":"u","pass":"secret-pass"}`,
}

func parse(t testing.TB, data []byte) *Shard {
	t.Helper()
	s, err := ParseShard(testBlob, data, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEncodeKeepsUnchangedLines(t *testing.T) {
	data := mustEncode(t, testRand(1), smallValues)
	s := parse(t, data)
	old := strings.Split(string(data), "\n")

	// Unchanged: only the tag changes, every time.
	tags := map[string]bool{old[0]: true}
	for i := range 5 {
		out, err := s.Encode(nil, testKey)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(out), "\n")
		if tags[lines[0]] {
			t.Fatalf("write %d reused a tag", i)
		}
		tags[lines[0]] = true
		if !slices.Equal(lines[1:], old[1:]) {
			t.Fatal("unchanged shard re-encrypted lines")
		}
	}

	// One changed value: only its line (index 2+position) changes.
	c := s.Clone()
	c.Set("/b/c", json.RawMessage(`{"user": "u", "pass": "new"}`))
	out, err := c.Encode(nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	for i := 1; i < len(old); i++ {
		if changed := lines[i] != old[i]; changed != (i == 2+3) {
			t.Errorf("line %d changed: %v", i, changed)
		}
	}
	if v, _, _ := parse(t, out).Get("/b/c"); string(v) != `{"user":"u","pass":"new"}` {
		t.Errorf("new value %s (want it compacted)", v)
	}
	// The original is untouched by changes to its clone.
	if v, _, _ := s.Get("/b/c"); string(v) != smallValues["/b/c"] {
		t.Errorf("clone changed the original: %s", v)
	}

	// A new path changes the index and adds a line; the rest stays.
	c = s.Clone()
	c.Set("/z", json.RawMessage(`0`))
	out, err = c.Encode(nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(string(out), "\n")
	if lines[1] == old[1] || len(lines) != len(old)+1 || !slices.Equal(lines[2:len(old)], old[2:]) {
		t.Error("adding a path: index kept or other lines changed")
	}
	// Deleting a path changes the index and drops only that line.
	c = s.Clone()
	c.Delete("/a")
	c.Delete("/missing")
	out, err = c.Encode(nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(string(out), "\n")
	if lines[1] == old[1] || !slices.Equal(lines[2:], slices.Delete(slices.Clone(old[2:]), 1, 2)) {
		t.Error("deleting a path: index kept or other lines changed")
	}
	if p := parse(t, out).Paths(); !slices.Equal(p, []string{"/", "/b/", "/b/c"}) {
		t.Errorf("after delete: %q", p)
	}
}

func TestSetSameValue(t *testing.T) {
	s := parse(t, mustEncode(t, testRand(2), smallValues))
	c := s.Clone()
	c.Set("/a", json.RawMessage(` "alpha" `))
	c.Set("/b/", MarshalList([]string{"c"}))
	if !c.SameContent(s) || !s.SameContent(c) {
		t.Error("setting the same values changed the content")
	}
	c.Set("/a", json.RawMessage(`"beta"`))
	if c.SameContent(s) {
		t.Error("SameContent after a change")
	}
	c.Set("/a", json.RawMessage(`"alpha"`))
	if !c.SameContent(s) {
		t.Error("SameContent after changing back")
	}
	c.Delete("/a")
	if c.SameContent(s) {
		t.Error("SameContent after a delete")
	}
	if !EmptyShard().SameContent(EmptyShard()) || !EmptyShard().SameContent(parse(t, nil)) {
		t.Error("empty shards differ")
	}
	// Re-encrypted but equal values are the same content.
	d := EmptyShard()
	for p, v := range smallValues {
		d.Set(p, json.RawMessage(v))
	}
	if !d.SameContent(s) || !s.SameContent(d) {
		t.Error("equal values in a new shard differ")
	}
}

func TestSetInvalid(t *testing.T) {
	for _, tc := range []struct{ path, value, want string }{
		{"/a", `{`, "not valid JSON"},
		{"/a", `null`, "null"},
		{"/a", ` null `, "null"},
		{"/d/", `"x"`, "not a JSON array of strings"},
		{"/d/", `[1]`, "not a JSON array of strings"},
		{"a", `1`, "invalid path"},
		{"/a//b", `1`, "invalid path"},
	} {
		s := EmptyShard()
		s.Set(tc.path, json.RawMessage(tc.value))
		_, err := s.Encode(nil, testKey)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%q, %s): Encode error %v, want %q", tc.path, tc.value, err, tc.want)
		}
		if _, _, err := s.Get(tc.path); err == nil {
			t.Errorf("Set(%q, %s): Get succeeded", tc.path, tc.value)
		}
	}
	s := parse(t, mustEncode(t, nil, smallValues))
	if _, err := s.Encode(nil, bytes.Repeat([]byte{7}, 32)); err == nil {
		t.Error("Encode under another key than the lines' succeeded")
	}
	if _, err := EmptyShard().Encode(nil, []byte("short")); err == nil {
		t.Error("Encode with a short key succeeded")
	}
	if _, err := ParseShard(testBlob, nil, nil); err == nil {
		t.Error("ParseShard without a key succeeded")
	}
}

func TestShardAccessors(t *testing.T) {
	s := parse(t, mustEncode(t, nil, smallValues))
	if s.Len() != 4 || !s.Has("/b/c") || s.Has("/b") || s.Blob() != testBlob {
		t.Error("Len/Has/Blob")
	}
	p := s.Paths()
	p[0] = "changed"
	if s.Paths()[0] != "/" {
		t.Error("Paths exposes the shard's slice")
	}
	v, _, _ := s.Get("/a")
	v[0] = 'X'
	if v, _, _ := s.Get("/a"); string(v) != `"alpha"` {
		t.Error("Get exposes the cache")
	}
	names, err := ParseList(mustGet(t, s, "/"))
	if err != nil || !slices.Equal(names, []string{"a", "b/"}) {
		t.Errorf("ParseList = %q, %v", names, err)
	}
	if _, err := ParseList(json.RawMessage(`null`)); err == nil {
		t.Error("ParseList(null)")
	}
	if got := string(MarshalList([]string{"\ue000", "b", "😀", "b", "<&>"})); got != `["<&>","b","😀","`+"\ue000"+`"]` {
		t.Errorf("MarshalList = %s", got)
	}
	if got := string(MarshalList(nil)); got != `[]` {
		t.Errorf("MarshalList(nil) = %s", got)
	}
}

func mustGet(t *testing.T, s *Shard, p string) json.RawMessage {
	t.Helper()
	v, ok, err := s.Get(p)
	if err != nil || !ok {
		t.Fatalf("Get(%q): %v %v", p, ok, err)
	}
	return v
}

// TestConcurrentGet is for the race detector: the engine reads one shard
// from many goroutines while encoding a clone.
func TestConcurrentGet(t *testing.T) {
	s := parse(t, mustEncode(t, nil, smallValues))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for p, v := range smallValues {
				if got := mustGet(t, s, p); string(got) != v {
					t.Errorf("%q = %s", p, got)
				}
			}
			c := s.Clone()
			c.Set("/new", json.RawMessage(`1`))
			if _, err := c.Encode(nil, testKey); err != nil {
				t.Error(err)
			}
			c.SameContent(s)
		})
	}
	wg.Wait()
}

func TestShardCorruption(t *testing.T) {
	data := mustEncode(t, testRand(9), smallValues)
	lines := strings.Split(string(data), "\n")
	join := func(l []string) []byte { return []byte(strings.Join(l, "\n")) }
	with := func(i int, s string) []byte {
		l := slices.Clone(lines)
		l[i] = s
		return join(l)
	}
	other := mustEncode(t, nil, smallValues)
	otherKey := bytes.Repeat([]byte{9}, 32)

	cases := map[string]struct {
		data []byte
		key  []byte
		want string
	}{
		"truncated":          {data[:len(data)-10], testKey, "item"}, // fails on Get of the last item
		"truncated to index": {data[:len(lines[0])+1+len(lines[1])/2], testKey, "failed to decrypt index"},
		"header only":        {[]byte(lines[0]), testKey, "index line missing"},
		"trailing newline":   {append(bytes.Clone(data), '\n'), testKey, "index lists 4 items but shard has 5 item lines"},
		"deleted line":       {join(slices.Delete(slices.Clone(lines), 3, 4)), testKey, "index lists 4 items but shard has 3 item lines"},
		"other store":        {other, otherKey, "failed to decrypt index"},
		"bad header":         {with(0, `{"version":1,"tag":`), testKey, "header is not a JSON object"},
		"header array":       {with(0, `[1]`), testKey, "header is not a JSON object"},
		"header null":        {with(0, `null`), testKey, "header is not a JSON object"},
		"no version":         {with(0, `{"tag":"AAAAAAAAAAA="}`), testKey, "header has no version"},
		"string version":     {with(0, `{"version":"1"}`), testKey, "header version is not an integer"},
		"garbage":            {[]byte("\x00\xff\n\n"), testKey, "header"},
		"unsorted index":     {with(1, mustItem(t, `["/b","/a"]`)), testKey, "not sorted"},
		"byte-sorted index":  {with(1, mustItem(t, `["/`+"\ue000"+`","/😀"]`)), testKey, "not sorted"},
		"duplicate index":    {with(1, mustItem(t, `["/a","/a"]`)), testKey, "not sorted"},
		"invalid path":       {with(1, mustItem(t, `["/a","/b//c","/c","/d"]`)), testKey, "invalid path (entry 2 of 4: contains an empty segment)"},
		"index not array":    {with(1, mustItem(t, `{"a":1}`)), testKey, "index is not a JSON array"},
		"index null":         {with(1, mustItem(t, `null`)), testKey, "index is not a JSON array"},
		"index of numbers":   {with(1, mustItem(t, `[1,2,3,4]`)), testKey, "index is not a JSON array"},
	}
	for name, c := range cases {
		s, err := ParseShard(testBlob, c.data, c.key)
		if err == nil && s != nil {
			// Damage confined to one item shows on Get.
			for _, p := range s.Paths() {
				if _, _, gerr := s.Get(p); gerr != nil {
					err = gerr
				}
			}
		}
		var ce *CorruptError
		if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) || ce.Blob != testBlob {
			t.Errorf("%s: %v, want a CorruptError for %s", name, err, testBlob)
			continue
		}
		if !strings.HasPrefix(err.Error(), "shard "+testBlob+" is damaged: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %q, want it to mention %q", name, err, c.want)
		}
		if strings.Contains(err.Error(), "secret-pass") || strings.Contains(err.Error(), "alpha") {
			t.Errorf("%s: error leaks a value: %v", name, err)
		}
	}

	_, err := ParseShard(testBlob, with(0, `{"version":2,"tag":"AAAAAAAAAAA="}`), testKey)
	var ve *VersionError
	if !errors.Is(err, ErrUnsupportedVersion) || !errors.As(err, &ve) || ve.Version != 2 || ve.Blob != testBlob ||
		err.Error() != "shard "+testBlob+" has unsupported format version 2 (this program reads version 1)" {
		t.Errorf("version 2 header: %v", err)
	}
}

func mustItem(t *testing.T, plaintext string) string {
	line, err := EncryptItem(nil, testKey, []byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// TestDamagedItem checks one bad item fails alone and names its shard and
// path, while the others stay readable and writable.
func TestDamagedItem(t *testing.T) {
	data := mustEncode(t, testRand(11), smallValues)
	lines := strings.Split(string(data), "\n")
	raw, _ := base64.StdEncoding.DecodeString(lines[5]) // "/b/c"
	raw[len(raw)-20] ^= 0x80
	lines[5] = base64.StdEncoding.EncodeToString(raw)
	lines[3] = mustItem(t, `null`)    // "/a"
	lines[4] = mustItem(t, `{"x":1}`) // "/b/" must be a list
	lines[2] = mustItem(t, `["a",`)   // "/"
	s := parse(t, []byte(strings.Join(lines, "\n")))
	for p, want := range map[string]string{
		"/b/c": "ciphertext failed to authenticate (tampered data)",
		"/a":   "value is null",
		"/b/":  "directory listing is not a JSON array of strings",
		"/":    "value is not valid JSON",
	} {
		_, ok, err := s.Get(p)
		var ce *CorruptError
		if !ok || !errors.As(err, &ce) || ce.Blob != testBlob || ce.Item != p {
			t.Errorf("Get(%q) = %v, want a CorruptError for that item", p, err)
			continue
		}
		if wantMsg := fmt.Sprintf("shard %s is damaged: item %q: %s", testBlob, p, want); !strings.HasPrefix(err.Error(), wantMsg) {
			t.Errorf("Get(%q) = %q, want %q", p, err, wantMsg)
		}
		// The same error again (values are decrypted on every Get).
		if _, _, err2 := s.Get(p); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("second Get(%q) = %v", p, err2)
		}
	}
	// Repairing one item by overwriting it works; damaged lines are kept.
	c := s.Clone()
	c.Set("/b/c", json.RawMessage(`"fixed"`))
	out, err := c.Encode(nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	s2 := parse(t, out)
	if string(mustGet(t, s2, "/b/c")) != `"fixed"` {
		t.Error("repair failed")
	}
	if _, _, err := s2.Get("/a"); !errors.Is(err, ErrCorrupt) {
		t.Error("damaged item was not kept as is")
	}
}

// EncodeState's shard is what ParseShard makes of the blob: the same
// paths and values, and encoding it again rewrites no line but the tag.
func TestEncodeStateIsTheParsedBaseline(t *testing.T) {
	s := parse(t, mustEncode(t, testRand(2), smallValues))
	c := s.Clone()
	c.Set("/b/c", json.RawMessage(`"changed"`))
	c.Set("/b/d", json.RawMessage(`[1,2]`))
	c.Delete("/a")
	data, state, err := c.EncodeState(testRand(3), testKey)
	if err != nil {
		t.Fatal(err)
	}
	parsed := parse(t, data)
	if !slices.Equal(state.Paths(), parsed.Paths()) || !state.SameContent(parsed) {
		t.Fatalf("state %q differs from the parsed blob %q", state.Paths(), parsed.Paths())
	}
	for _, p := range parsed.Paths() {
		a, _, err1 := state.Get(p)
		b, _, err2 := parsed.Get(p)
		if err1 != nil || err2 != nil || string(a) != string(b) {
			t.Errorf("%s: state %s (%v), parsed %s (%v)", p, a, err1, b, err2)
		}
	}
	again, err := state.Encode(testRand(4), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Split(string(again), "\n")[1:], strings.Split(string(data), "\n")[1:]; !slices.Equal(got, want) {
		t.Error("encoding the returned state again re-encrypted lines")
	}
}
