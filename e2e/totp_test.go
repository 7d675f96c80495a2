package e2e

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// totpCode is RFC 6238 written out independently of internal/otp: HOTP
// (RFC 4226 §5.3) of floor(unix/period) with the given hash.
func totpCode(t *testing.T, b32 string, h func() hash.Hash, unix int64, period int64, digits int) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(b32))
	if err != nil {
		t.Fatal(err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(unix/period))
	m := hmac.New(h, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0xf
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	if digits >= 10 {
		return fmt.Sprintf("%0*d", digits, v)
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

const e2eSecret = "JBSWY3DPEHPK3PXP"

func TestTotpAddAndCode(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")

	// Add from stdin, as a script would, and read the code at fixed times.
	uri := "otpauth://totp/GitHub:octocat?secret=" + e2eSecret + "&issuer=GitHub"
	check(t, s.run(uri+"\n", nil, "totp", "add", "github/totp"), 0, "", "")
	for _, at := range []int64{0, 59, 1111111109, 1700000000, 2000000000} {
		want := totpCode(t, e2eSecret, sha1.New, at, 30, 6)
		check(t, s.run("", nil, "totp", "github/totp", "--time", fmt.Sprint(at)), 0, want+"\n", "")
	}
	want := totpCode(t, e2eSecret, sha1.New, 1700000000, 30, 6)
	check(t, s.run("", nil, "totp", "github/totp", "--time", "2023-11-14T22:13:20Z"), 0, want+"\n", "")

	// The stored document.
	var doc map[string]any
	json.Unmarshal([]byte(s.must("", "get", "--json", "github/totp")), &doc)
	if doc["type"] != "totp" || doc["secret"] != e2eSecret || doc["issuer"] != "GitHub" || doc["account"] != "octocat" ||
		doc["digits"] != 6.0 || doc["period"] != 30.0 || doc["algorithm"] != "SHA1" {
		t.Errorf("stored %v", doc)
	}

	// RFC 6238's own SHA256 vector: the 32-byte seed, 8 digits, at 59 s.
	seed := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890123456789012"))
	s.must("otpauth://totp/rfc?secret="+strings.ToLower(seed)+"&algorithm=SHA256&digits=8", "totp", "add", "rfc/sha256")
	check(t, s.run("", nil, "totp", "rfc/sha256", "--time", "59"), 0, "46119246\n", "")
	check(t, s.run("", nil, "totp", "rfc/sha256", "--time", "20000000000"), 0, "77737706\n", "")

	// A bare secret with spaces, lower case, from stdin; a 60 s SHA512 key.
	s.must("jbsw y3dp ehpk 3pxp\n", "totp", "add", "bare")
	check(t, s.run("", nil, "totp", "bare", "--time", "1234567890"), 0, totpCode(t, e2eSecret, sha1.New, 1234567890, 30, 6)+"\n", "")
	s.must("otpauth://totp/x?secret="+e2eSecret+"&algorithm=SHA512&digits=8&period=60", "totp", "add", "sha512")
	check(t, s.run("", nil, "totp", "sha512", "--time", "1234567890"), 0, totpCode(t, e2eSecret, sha512.New, 1234567890, 60, 8)+"\n", "")

	// totp uri prints the URI back; it adds again to the same entry.
	out := s.must("", "totp", "uri", "github/totp")
	if out != "otpauth://totp/GitHub:octocat?secret="+e2eSecret+"&issuer=GitHub&algorithm=SHA1&digits=6&period=30\n" {
		t.Errorf("totp uri = %q", out)
	}
	s.must(out, "totp", "add", "copy")
	if a, b := s.must("", "get", "--json", "github/totp"), s.must("", "get", "--json", "copy"); a != b {
		t.Errorf("re-added %s, original %s", b, a)
	}

	// Errors, each one line, none showing the secret.
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"otpauth://hotp/x?secret=" + e2eSecret + "&counter=1", []string{"totp", "add", "h"}, 1, "HOTP (counter-based) keys are not supported"},
		{"otpauth://totp/x?secret=" + e2eSecret + "1", []string{"totp", "add", "h"}, 1, "base32"},
		{"", []string{"totp", "add", "h", e2eSecret}, 2, "never accepted as an argument"},
		{"", []string{"totp", "add", "h", uri}, 2, "never accepted as an argument"},
		{"", []string{"totp", "nope"}, 3, "no such entry"},
		{"", []string{"totp", "github/totp", "--time", "soon"}, 2, "RFC 3339"},
	} {
		r := s.run(tc.stdin, nil, tc.args...)
		check(t, r, tc.code, "", tc.msg)
		if strings.Contains(r.errOut, e2eSecret[:8]) {
			t.Errorf("%q: the error shows the secret: %q", tc.args, r.errOut)
		}
	}
	s.must("plain text", "set", "plain")
	check(t, s.run("", nil, "totp", "plain"), 1, "", "not a TOTP entry")
}

func TestTotpDirectoryView(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--shards", "4", "--iterations", "1000")
	type entry struct {
		path, uri, secret string
		h                 func() hash.Hash
		period            int64
		digits            int
	}
	entries := []entry{
		{"/a/totp", "", "JBSWY3DPEHPK3PXP", sha1.New, 30, 6},
		{"/b/c/totp", "", "GEZDGNBVGY3TQOJQ", sha1.New, 30, 6},
		{"/b/d", "otpauth://totp/D:d?secret=MFRGGZDFMZTWQ2LK&algorithm=SHA256&digits=8&period=60", "MFRGGZDFMZTWQ2LK", sha256.New, 60, 8},
		{"/e/f/g/totp", "", "ONSWG4TFOQ", sha1.New, 30, 6},
		{"/github/totp", "otpauth://totp/GitHub:octocat?secret=JBSWY3DPEHPK3PXP&issuer=GitHub", "JBSWY3DPEHPK3PXP", sha1.New, 30, 6},
		{"/top", "", "KRSXG5A", sha1.New, 30, 6},
	}
	for _, e := range entries {
		in := e.uri
		if in == "" {
			in = strings.ToLower(e.secret)
		}
		s.must(in+"\n", "totp", "add", e.path)
	}
	// Entries that are not TOTP are skipped.
	s.must("hunter2", "set", "b/password")
	s.must(`{"user":"me"}`, "set", "--json", "e/f/config")

	const at = 1700000000
	var all strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&all, "%s\t%s\t%d\n", e.path, totpCode(t, e.secret, e.h, at, e.period, e.digits), e.period-at%e.period)
	}

	r := s.run("", nil, "--trace", "totp", "--time", fmt.Sprint(at))
	check(t, r, 0, all.String(), "trace: summary:")
	// One task: the shards it needs are each read at most once.
	reads := map[string]int{}
	for _, line := range strings.Split(r.errOut, "\n") {
		if !strings.HasPrefix(line, "trace: ") {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(line, "trace: "))
		if len(f) >= 2 && f[0] == "read" && strings.HasPrefix(f[1], "shard-") {
			reads[f[1]]++
		}
		if len(f) >= 1 && f[0] == "write" {
			t.Errorf("the directory view wrote: %s", line)
		}
	}
	if len(reads) < 2 {
		t.Errorf("only %d shards read: %q", len(reads), r.errOut)
	}
	for blob, n := range reads {
		if n > 1 {
			t.Errorf("%s was read %d times", blob, n)
		}
	}
	for _, e := range entries {
		if strings.Contains(r.errOut, e.secret) || strings.Contains(r.out, e.secret) {
			t.Errorf("the secret of %s shows: %q", e.path, r.out+r.errOut)
		}
	}

	// A directory below the top, with and without its "/".
	var b strings.Builder
	for _, e := range entries {
		if strings.HasPrefix(e.path, "/b/") {
			fmt.Fprintf(&b, "%s\t%s\t%d\n", e.path, totpCode(t, e.secret, e.h, at, e.period, e.digits), e.period-at%e.period)
		}
	}
	check(t, s.run("", nil, "totp", "b/", "--time", fmt.Sprint(at)), 0, b.String(), "")
	check(t, s.run("", nil, "totp", "b", "--time", fmt.Sprint(at)), 0, b.String(), "")
	check(t, s.run("", nil, "totp", "nope/"), 3, "", "no such directory")
}

// TestTotpReferenceStores reads the TOTP entry the reference implementation
// wrote (type, secret, digits, period, algorithm; no issuer or account).
func TestTotpReferenceStores(t *testing.T) {
	t.Parallel()
	dirs, _ := filepath.Glob("../testdata/reference-v1-*")
	if len(dirs) == 0 {
		t.Fatal("no reference stores in ../testdata")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var exp struct {
				Passphrase string `json:"passphrase"`
			}
			data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			json.Unmarshal(data, &exp)
			s := newStore(t)
			s.env[2] = "VAULTDB_PASSPHRASE=" + exp.Passphrase
			copyDir(t, filepath.Join(dir, "store"), s.dir)
			code := totpCode(t, e2eSecret, sha1.New, 1700000000, 30, 6)
			check(t, s.run("", nil, "totp", "github/totp", "--time", "1700000000"), 0, code+"\n", "")
			// The whole store has one TOTP entry among many others.
			check(t, s.run("", nil, "totp", "--time", "1700000000"), 0, "/github/totp\t"+code+"\t10\n", "")
			check(t, s.run("", nil, "totp", "github/password"), 1, "", "not a TOTP entry")
		})
	}
}
