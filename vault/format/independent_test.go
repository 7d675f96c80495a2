package format

// An independent reader of the format, written from the design document
// with direct calls to the standard library, to check what this package
// writes byte by byte rather than by its own parsers.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// specB64 decodes standard padded base64 and insists the text is in its
// one canonical form.
func specB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("not base64: %q", s)
	}
	if base64.StdEncoding.EncodeToString(b) != s || len(s)%4 != 0 {
		t.Fatalf("not canonical padded base64: %q", s)
	}
	return b
}

func specOpen(t *testing.T, key, ivCtTag []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := gcm.Open(nil, ivCtTag[:12], ivCtTag[12:], nil)
	if err != nil {
		t.Fatalf("GCM open: %v", err)
	}
	return pt
}

// specItem decodes one encrypted line per design §2.4 and checks its layout.
func specItem(t *testing.T, cipherKey []byte, line string) []byte {
	t.Helper()
	raw := specB64(t, line)
	if raw[0] != 0x00 || raw[1] != 0x01 {
		t.Fatalf("item version bytes %x", raw[:2])
	}
	itemKey := specOpen(t, cipherKey, raw[2:2+60])
	if len(itemKey) != 32 {
		t.Fatalf("item key is %d bytes", len(itemKey))
	}
	pt := specOpen(t, itemKey, raw[62:])
	if len(raw) != 2+12+48+12+len(pt)+16 {
		t.Fatalf("item is %d bytes for %d bytes of plaintext", len(raw), len(pt))
	}
	return pt
}

var specHeader = regexp.MustCompile(`^\{"version":1,"tag":"([A-Za-z0-9+/]{11}=)"\}$`)

// specShard decodes a shard blob per design §2.3 into its paths, values (as
// JSON text) and raw lines.
func specShard(t *testing.T, cipherKey, data []byte) (paths []string, values map[string]string, lines []string) {
	t.Helper()
	if bytes.HasSuffix(data, []byte("\n")) {
		t.Fatal("shard ends with a newline")
	}
	lines = strings.Split(string(data), "\n")
	m := specHeader.FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("header %q", lines[0])
	}
	if len(specB64(t, m[1])) != 8 {
		t.Fatal("tag is not 8 bytes")
	}
	if err := json.Unmarshal(specItem(t, cipherKey, lines[1]), &paths); err != nil {
		t.Fatalf("index: %v", err)
	}
	if len(lines) != 2+len(paths) {
		t.Fatalf("%d lines for %d paths", len(lines), len(paths))
	}
	values = map[string]string{}
	for i, p := range paths {
		values[p] = string(specItem(t, cipherKey, lines[2+i]))
	}
	return paths, values, lines
}

func TestSpecShard(t *testing.T) {
	values := map[string]string{
		"/":            `["a","a/","sort/"]`,
		"/a":           `"x"`,
		"/a/":          `["b"]`,
		"/a/b":         `{"k":[1,2,{"z":null}],"html":"<&>"}`,
		"/sort/":       `["😀",""]`,
		"/sort/😀":      `1`,
		"/sort/\ue000": `true`,
		"/u2028\u2028": `"\u2028"`,
	}
	data := mustEncode(t, testRand(7), values)
	paths, got, _ := specShard(t, testKey, data)
	want := []string{"/", "/a", "/a/", "/a/b", "/sort/", "/sort/😀", "/sort/\ue000", "/u2028\u2028"}
	if !slices.Equal(paths, want) {
		t.Errorf("index %q, want %q", paths, want)
	}
	for p, v := range values {
		if got[p] != v {
			t.Errorf("%q = %s, want %s", p, got[p], v)
		}
	}
	// The index is written the way JSON.stringify writes it.
	idx := specItem(t, testKey, strings.Split(string(data), "\n")[1])
	if wantIdx := `["/","/a","/a/","/a/b","/sort/","/sort/😀","/sort/` + "\ue000" + `","/u2028` + "\u2028" + `"]`; string(idx) != wantIdx {
		t.Errorf("index text %s, want %s", idx, wantIdx)
	}

	// An empty shard is a header and an index.
	paths, _, lines := specShard(t, testKey, mustEncode(t, nil, nil))
	if len(paths) != 0 || len(lines) != 2 || string(specItem(t, testKey, lines[1])) != "[]" {
		t.Errorf("empty shard: %q", lines)
	}
}

var specConfig = regexp.MustCompile(`^\{
  "version": 1,
  "password": \{
    "salt": "([A-Za-z0-9+/=]+)",
    "iterations": (\d+)
  \},
  "cipher": \{
    "key": "([A-Za-z0-9+/=]+)"
  \},
  "shards": \{
    "key": "([A-Za-z0-9+/=]+)",
    "n": (\d+)
  \}
\}$`)

func TestSpecConfig(t *testing.T) {
	pass := "Ǆ ﬁ café" // compatibility characters NFKD rewrites
	c, keys, err := NewConfig(nil, []byte(pass), testIterations, 5)
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m := specConfig.FindStringSubmatch(string(data))
	if m == nil {
		t.Fatalf("config layout:\n%s", data)
	}
	if m[2] != fmt.Sprint(testIterations) || m[5] != "5" {
		t.Errorf("iterations %s, n %s", m[2], m[5])
	}
	salt := specB64(t, m[1])
	if len(salt) != 32 {
		t.Errorf("salt is %d bytes", len(salt))
	}
	pk, err := pbkdf2.Key(sha256.New, norm.NFKD.String(pass), salt, testIterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	wc, wr := specB64(t, m[3]), specB64(t, m[4])
	if len(wc) != 12+32+16 || len(wr) != 12+64+16 {
		t.Fatalf("wrapped keys are %d and %d bytes", len(wc), len(wr))
	}
	if ck := specOpen(t, pk, wc); !bytes.Equal(ck, keys.Cipher) {
		t.Error("cipher key differs")
	}
	rk := specOpen(t, pk, wr)
	if !bytes.Equal(rk, keys.Router) {
		t.Error("router key differs")
	}

	// Routing, with JavaScript's float arithmetic for the boundaries.
	r := NewRouter(keys.Router, 5)
	for _, p := range []string{"/", "/a", "/a/", "/github/password", "/😀"} {
		h := hmac.New(sha256.New, rk)
		h.Write([]byte(p))
		id := int(h.Sum(nil)[0])<<8 | int(h.Sum(nil)[1])
		var blob string
		for i := range 5 {
			lo := int(math.Floor(65536*float64(i)/5 + 0.5))
			hi := int(math.Floor(65536*float64(i+1)/5+0.5)) - 1
			if lo <= id && id <= hi {
				blob = fmt.Sprintf("shard-%04x-%04x", lo, hi)
			}
		}
		if got := r.BlobID(r.ShardOf(p)); got != blob {
			t.Errorf("%q routes to %s, spec says %s", p, got, blob)
		}
	}
}
