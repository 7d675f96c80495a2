package format

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// validConfig is a config with arbitrary but well-formed fields; its keys
// do not unwrap under any passphrase.
var validConfig = `{
  "version": 1,
  "password": {"salt": "AAAA", "iterations": 1000},
  "cipher": {"key": "` + wrapped60 + `"},
  "shards": {"key": "` + wrapped92 + `", "n": 2}
}`

var (
	wrapped60 = strings.Repeat("A", 80)
	wrapped92 = strings.Repeat("A", 123) + "="
)

func TestParseConfigErrors(t *testing.T) {
	repl := func(old, new string) string {
		if !strings.Contains(validConfig, old) {
			t.Fatalf("test config lacks %q", old)
		}
		return strings.Replace(validConfig, old, new, 1)
	}
	if _, err := ParseConfig([]byte(validConfig)); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := map[string]string{
		"":                                     "config is not JSON",
		"{":                                    "config is not JSON",
		`{"version":1} x`:                      "config is not JSON",
		"[1]":                                  "config is not a JSON object",
		"null":                                 "config is not a JSON object",
		`"version"`:                            "config is not a JSON object",
		`{}`:                                   "config field version missing",
		repl(`"version": 1`, `"version": "1"`): "config field version is not an integer",
		repl(`"version": 1`, `"version": 1.5`): "config field version is not an integer",
		repl(`"version": 1,`, ``):              "config field version missing",
		repl(`"password"`, `"pass"`):           "config field password missing",
		`{"version":1,"password":[],"cipher":{},"shards":{}}`: "config field password is not an object",
		repl(`"cipher": {`, `"cipher": 3, "x": {`):            "config field cipher is not an object",
		repl(`"salt": "AAAA"`, `"salt": null`):                "config field password.salt is not a string",
		repl(`"salt": "AAAA"`, `"salt": "AAA"`):               "config field password.salt is not valid base64",
		repl(`"salt": "AAAA"`, `"salt": ""`):                  "config field password.salt is empty",
		repl(`"salt": "AAAA", `, ``):                          "config field password.salt missing",
		repl(`"iterations": 1000`, `"iterations": 0`):         "password.iterations must be at least 1",
		repl(`"iterations": 1000`, `"iterations": "1000"`):    "config field password.iterations is not an integer",
		repl(`"iterations": 1000`, `"iterations": 1e3`):       "config field password.iterations is not an integer",
		repl(`"key": "`+wrapped60, `"key": "`+wrapped60[:76]): "config field cipher.key is not a wrapped 32-byte key",
		repl(`"key": "`+wrapped60, `"key": "`+wrapped60+"="):  "config field cipher.key is not valid base64",
		repl(`"key": "`+wrapped92, `"key": "`+wrapped60):      "config field shards.key is not a wrapped 64-byte key",
		repl(`, "n": 2`, ``):                                  "config field shards.n missing",
		repl(`"n": 2`, `"n": 0`):                              "shards.n must be between 1 and 65536",
		repl(`"n": 2`, `"n": 65537`):                          "shards.n must be between 1 and 65536",
		repl(`"n": 2`, `"n": 99999999999999999999`):           "config field shards.n is not an integer",
		repl(`"n": 2`, `"n": true`):                           "config field shards.n is not an integer",
	}
	for in, want := range bad {
		c, err := ParseConfig([]byte(in))
		var ce *ConfigError
		if c != nil || !errors.Is(err, ErrBadConfig) || !errors.As(err, &ce) {
			t.Errorf("ParseConfig(%q) = %v, want a ConfigError", in, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%q) = %q, want %q", in, err, want)
		}
	}

	// A newer version is reported by number even if the rest is different.
	for _, in := range []string{`{"version": 2}`, repl(`"version": 1`, `"version": 2`)} {
		_, err := ParseConfig([]byte(in))
		var ve *VersionError
		if !errors.Is(err, ErrUnsupportedVersion) || !errors.As(err, &ve) || ve.Version != 2 || !strings.Contains(err.Error(), "version 2") {
			t.Errorf("ParseConfig(%q) = %v, want a VersionError for version 2", in, err)
		}
	}
}

func TestNewConfig(t *testing.T) {
	pass := []byte("caf\u00e9")
	c, keys, err := NewConfig(testRand(1), pass, testIterations, 3)
	if err != nil {
		t.Fatal(err)
	}
	if c.Shards() != 3 || c.Iterations() != testIterations || c.Version() != 1 {
		t.Errorf("config: %d shards, %d iterations", c.Shards(), c.Iterations())
	}
	if len(keys.Cipher) != 32 || len(keys.Router) != 64 {
		t.Fatalf("key sizes %d %d", len(keys.Cipher), len(keys.Router))
	}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	// The decomposed spelling unlocks too: passphrases are NFKD normalised.
	got, err := c2.Unlock([]byte("cafe\u0301"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Cipher, keys.Cipher) || !bytes.Equal(got.Router, keys.Router) {
		t.Error("Unlock returned other keys")
	}
	if _, err := c2.Unlock([]byte("cafe")); err != ErrWrongPassphrase {
		t.Errorf("wrong passphrase: %v", err)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", keys, keys, *keys, keys); strings.Count(s, "redacted") != 4 {
		t.Error("Keys.String leaks")
	}

	// Distinct stores get distinct salts and keys.
	_, keys2, err := NewConfig(nil, pass, testIterations, 3)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(keys.Cipher, keys2.Cipher) {
		t.Error("keys are not random")
	}

	for _, bad := range [][2]int{{0, 1}, {1, 0}, {1, 65537}, {-1, 1}} {
		if _, _, err := NewConfig(nil, pass, bad[0], bad[1]); err == nil {
			t.Errorf("NewConfig(iterations %d, shards %d) succeeded", bad[0], bad[1])
		}
	}
	if _, _, err := NewConfig(bytes.NewReader(make([]byte, 10)), pass, 1, 1); err == nil {
		t.Error("NewConfig with a short random source succeeded")
	}
}

func TestUnlockDamagedRouterKey(t *testing.T) {
	c, _, err := NewConfig(testRand(2), []byte("pw"), testIterations, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := *c
	d.routerKey = strings.Repeat("A", len(c.routerKey)-1) + "="
	if _, err := d.Unlock([]byte("pw")); !errors.Is(err, ErrBadConfig) {
		t.Errorf("damaged router key: %v", err)
	}
}

// TestConfigUnknownFields checks unknown fields survive a parse, a rewrap
// and a marshal, in place and with JSON.stringify's layout.
func TestConfigUnknownFields(t *testing.T) {
	c, keys, err := NewConfig(testRand(4), []byte("old"), testIterations, 2)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := c.Marshal()
	s := string(data)
	s = strings.Replace(s, `"iterations": 1000`, `"iterations": 1000, "kdf": "pbkdf2"`, 1)
	s = strings.Replace(s, `"cipher": {`, `"cipher": {"alg": {"name": "aes", "bits": [256]},`, 1)
	s = strings.Replace(s, `"n": 2`, `"n": 2, "hash": "sha256", "empty": {}, "list": []`, 1)
	s = strings.TrimSuffix(s, "}") + `, "comment": "a\u2028<b>", "version": 1, "z": null}`
	c, err = ParseConfig([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Rewrap(testRand(5), keys, []byte("new"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if n.Iterations() != testIterations || n.Shards() != 2 {
		t.Errorf("rewrap changed iterations or shards: %d %d", n.Iterations(), n.Shards())
	}
	out, err := n.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "version": 1,
  "password": {
    "salt": "SALT",
    "iterations": 1000,
    "kdf": "pbkdf2"
  },
  "cipher": {
    "key": "CIPHER",
    "alg": {
      "name": "aes",
      "bits": [
        256
      ]
    }
  },
  "shards": {
    "key": "ROUTER",
    "n": 2,
    "hash": "sha256",
    "empty": {},
    "list": []
  },
  "comment": "a\u2028<b>",
  "z": null
}`
	want = strings.NewReplacer("SALT", n.salt, "CIPHER", n.cipherKey, "ROUTER", n.routerKey).Replace(want)
	if string(out) != want {
		t.Errorf("Marshal after Rewrap:\n%s\nwant\n%s", out, want)
	}
	if n.salt == c.salt || n.cipherKey == c.cipherKey {
		t.Error("Rewrap kept the salt or the wrapped key")
	}
	n2, err := ParseConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n2.Unlock([]byte("old")); err != ErrWrongPassphrase {
		t.Errorf("old passphrase after rewrap: %v", err)
	}
	got, err := n2.Unlock([]byte("new"))
	if err != nil || !bytes.Equal(got.Cipher, keys.Cipher) || !bytes.Equal(got.Router, keys.Router) {
		t.Errorf("new passphrase after rewrap: %v", err)
	}
	// c itself is unchanged.
	if _, err := c.Unlock([]byte("old")); err != nil {
		t.Errorf("Rewrap changed its receiver: %v", err)
	}

	n3, err := c.Rewrap(testRand(6), keys, []byte("new"), 2000)
	if err != nil || n3.Iterations() != 2000 {
		t.Errorf("rewrap with new iterations: %v", err)
	}
	if _, err := c.Rewrap(nil, &Keys{Cipher: keys.Cipher}, []byte("x"), 0); err == nil {
		t.Error("Rewrap with incomplete keys succeeded")
	}
	if _, err := c.Rewrap(nil, keys, []byte("x"), -1); err == nil {
		t.Error("Rewrap with negative iterations succeeded")
	}
}
