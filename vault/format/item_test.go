package format

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// TestItemKnownAnswer pins the layout with a line computed by node's crypto
// module from the spec: item key 0x00..0x1f, iv1 0x20..0x2b, iv2 0x2c..0x37,
// cipher key 32 × 0x42.
func TestItemKnownAnswer(t *testing.T) {
	const want = "AAEgISIjJCUmJygpKisyl0EA4OypOLnudczzxz75UXlfxlc+Hy+ABdJITNfi+qj4CZDm/76LlGgWJ0uOJ8MsLS4vMDEyMzQ1Njcp30Q0WLMnZRS1Ilodo/y0y50pkMHxVvjGig=="
	rnd := make([]byte, 56)
	for i := range rnd {
		rnd[i] = byte(i)
	}
	key := bytes.Repeat([]byte{0x42}, 32)
	pt := []byte(`{"a":"é"}`)
	line, err := EncryptItem(bytes.NewReader(rnd), key, pt)
	if err != nil {
		t.Fatal(err)
	}
	if line != want {
		t.Errorf("EncryptItem = %s\nwant          %s", line, want)
	}
	got, err := DecryptItem(key, want)
	if err != nil || !bytes.Equal(got, pt) {
		t.Errorf("DecryptItem = %q, %v", got, err)
	}
}

func TestItemRoundTrip(t *testing.T) {
	for _, pt := range []string{"", "1", `"x"`, strings.Repeat("y", 100000)} {
		a, err := EncryptItem(nil, testKey, []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		b, err := EncryptItem(nil, testKey, []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		if a == b {
			t.Error("two encryptions are equal: item key or iv not fresh")
		}
		got, err := DecryptItem(testKey, a)
		if err != nil || string(got) != pt {
			t.Errorf("round trip of %d bytes: %v", len(pt), err)
		}
	}
}

func TestDecryptItemErrors(t *testing.T) {
	line, err := EncryptItem(testRand(3), testKey, []byte(`"secret value"`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(line)
	mutate := func(f func(b []byte) []byte) string {
		b := f(bytes.Clone(raw))
		return base64.StdEncoding.EncodeToString(b)
	}
	flip := func(i int) string {
		return mutate(func(b []byte) []byte { b[i] ^= 1; return b })
	}
	otherKey := bytes.Repeat([]byte{1}, 32)
	cases := map[string]struct {
		key  []byte
		line string
	}{
		"not base64":     {testKey, "!!!!" + line[4:]},
		"unpadded":       {testKey, strings.TrimRight(line, "=") + "A"},
		"empty":          {testKey, ""},
		"short":          {testKey, mutate(func(b []byte) []byte { return b[:itemOverhead-1] })},
		"version 0x0002": {testKey, mutate(func(b []byte) []byte { b[1] = 2; return b })},
		"version 0x0101": {testKey, mutate(func(b []byte) []byte { b[0] = 1; return b })},
		"flipped iv1":    {testKey, flip(2)},
		"flipped key":    {testKey, flip(20)},
		"flipped iv2":    {testKey, flip(2 + 60)},
		"flipped value":  {testKey, flip(2 + 60 + 12)},
		"flipped tag":    {testKey, flip(len(raw) - 1)},
		"truncated tag":  {testKey, mutate(func(b []byte) []byte { return b[:len(b)-1] })},
		"other key":      {otherKey, line},
	}
	for name, c := range cases {
		pt, err := DecryptItem(c.key, c.line)
		if pt != nil || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %q, %v; want ErrCorrupt", name, pt, err)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error leaks plaintext: %v", name, err)
		}
	}
	if _, err := DecryptItem(testKey[:16], line); err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("short cipher key: %v", err)
	}
	if _, err := EncryptItem(nil, nil, nil); err == nil {
		t.Error("EncryptItem with no key succeeded")
	}
	if _, err := EncryptItem(bytes.NewReader(nil), testKey, nil); err == nil {
		t.Error("EncryptItem with an empty random source succeeded")
	}
}

func TestDeriveKey(t *testing.T) {
	// RFC 7914, section 11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1
	// (first 32 of its 64 bytes).
	want, _ := hex.DecodeString("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")
	if got := DeriveKey([]byte("passwd"), []byte("salt"), 1); !bytes.Equal(got, want) {
		t.Errorf("DeriveKey = %x, want %x", got, want)
	}
	// node: pbkdf2Sync("café ﬁ".normalize("NFKD"), "NaCl", 1000, 32, "sha256")
	want, _ = hex.DecodeString("abfae7c03bc161d040a9660df87b40ab8ba54c3ef09c8e3b301898669402ddc8")
	for _, p := range []string{"caf\u00e9 \ufb01", "cafe\u0301 fi"} {
		if got := DeriveKey([]byte(p), []byte("NaCl"), 1000); !bytes.Equal(got, want) {
			t.Errorf("DeriveKey(%q) = %x, want %x (NFKD)", p, got, want)
		}
	}
	if DeriveKey([]byte("x"), []byte("salt"), 0) != nil {
		t.Error("DeriveKey with 0 iterations")
	}
}
