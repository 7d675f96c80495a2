package e2e

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// passStore is a pass store encrypted to a throwaway GPG key.
type passStore struct {
	t         *testing.T
	home, dir string
	id        string
}

func newPassStore(t *testing.T) *passStore {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gpg is not installed (CI must install gnupg)")
		}
		t.Skip("gpg is not installed")
	}
	// A short path: gpg-agent's socket lives in the home directory.
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	p := &passStore{t: t, home: home, dir: filepath.Join(t.TempDir(), "store"), id: "e2e@example.invalid"}
	p.gpg(nil, "--passphrase", "", "--quick-gen-key", p.id, "default", "default", "never")
	os.MkdirAll(p.dir, 0o700)
	os.WriteFile(filepath.Join(p.dir, ".gpg-id"), []byte(p.id+"\n"), 0o600)
	return p
}

func (p *passStore) gpg(stdin []byte, args ...string) []byte {
	p.t.Helper()
	c := exec.Command("gpg", append([]string{"--batch", "--quiet", "--homedir", p.home}, args...)...)
	c.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		p.t.Fatalf("gpg %v: %v\n%s", args, err, errOut.String())
	}
	return out.Bytes()
}

// insert writes an entry as "pass insert -m" would: the content encrypted
// as it is to the store's key.
func (p *passStore) insert(name string, content []byte) {
	p.t.Helper()
	file := filepath.Join(p.dir, name+".gpg")
	os.MkdirAll(filepath.Dir(file), 0o700)
	p.gpg(content, "--trust-model", "always", "--encrypt", "-r", p.id, "-o", file)
}

// show is "pass show NAME": the decrypted bytes of the entry's file.
func (p *passStore) show(name string) []byte {
	p.t.Helper()
	return p.gpg(nil, "--decrypt", filepath.Join(p.dir, name+".gpg"))
}

// passText turns an imported value back into the text of a pass entry, by
// the rules "vaultdb import --help" documents: a string is its text and a
// newline; an object with "raw" is that text as it was; {"type": "binary",
// "base64": ...} is those bytes; another object is its password line, then
// a line per field in order: "key: value", the notes as they are, an
// otpauth:// URI in totp as the bare line.
func passText(t *testing.T, v json.RawMessage) []byte {
	t.Helper()
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []byte(s + "\n")
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.Token()
	var keys []string
	vals := map[string]string{}
	for dec.More() {
		k, _ := dec.Token()
		var val string
		if err := dec.Decode(&val); err != nil {
			t.Fatalf("value %s: field %v is not a string", v, k)
		}
		keys = append(keys, k.(string))
		vals[k.(string)] = val
	}
	if raw, ok := vals["raw"]; ok {
		return []byte(raw)
	}
	if vals["type"] == "binary" {
		b, err := base64.StdEncoding.DecodeString(vals["base64"])
		if err != nil {
			t.Fatalf("value %s: bad base64", v)
		}
		return b
	}
	var b strings.Builder
	b.WriteString(vals["password"] + "\n")
	for _, k := range keys {
		switch {
		case k == "password":
		case k == "notes", k == "totp" && strings.HasPrefix(vals[k], "otpauth://"):
			b.WriteString(vals[k] + "\n")
		default:
			b.WriteString(k + ": " + vals[k] + "\n")
		}
	}
	return []byte(b.String())
}

const otpB = "KRSXG5CTMVRXEZLU"

// Every entry of a pass store imports so that its text can be had back
// byte for byte: export, then compare with what pass shows.
func TestImportPassLossless(t *testing.T) {
	t.Parallel()
	p := newPassStore(t)
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	tricky := map[string][]byte{
		"plain":             []byte("pw\n"),
		"web/site":          []byte("pw1\nusername: me\nurl: https://example.com\n"),
		"repeated":          []byte("pw\nurl: https://a.example\nurl: https://b.example\n"),
		"otp/two":           []byte("pw\notpauth://totp/A:me?secret=" + e2eSecret + "&issuer=A\notpauth://totp/B:me?secret=" + otpB + "\n"),
		"otp/one":           []byte("pw\nuser: me\notpauth://totp/A:me?secret=" + e2eSecret + "&issuer=A\n"),
		"otp/field":         []byte("pw\ntotp: " + otpB + "\n"),
		"fields/password":   []byte("pw\npassword: other\n"),
		"fields/notes":      []byte("pw\nnotes: some notes\n"),
		"blank/lines":       []byte("pw\n\n  indented\n\n\tlast\n\n"),
		"notes/after":       []byte("pw\nuser: me\nfree text\nmore text\n"),
		"latin1":            []byte("caf\xe9\nuser: Jos\xe9\n"),
		"binary":            binary,
		"url/bare":          []byte("pw\nhttps://example.com/login\n"),
		"no/newline":        []byte("pw"),
		"empty":             {},
		"crlf":              []byte("pw\r\nuser: me\r\n"),
		"fields/raw":        []byte("pw\nraw: x\n"),
		"fields/binary":     []byte("pw\ntype: binary\nbase64: AAAA\n"),
		"spaces":            []byte("pw\nkey:  two spaces\nk2:\n"),
		"utf8/unicode":      []byte("pässwörd ✓\nuser: ünïcode\n"),
		"lines/only":        []byte("\n\n\n"),
		"password/trailing": []byte("pw \nuser: me \n"),
	}
	var names []string
	for name, content := range tricky {
		p.insert(name, content)
		names = append(names, name)
	}
	sort.Strings(names)

	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	r := s.run("", []string{"GNUPGHOME=" + p.home}, "import", "--from", "pass", p.dir)
	check(t, r, 0, "", fmt.Sprintf("%d added, 0 replaced, 0 skipped (already there), 0 failed", len(tricky)))

	var exp map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s.must("", "export")), &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp) != len(tricky) {
		t.Errorf("export has %d entries, want %d", len(exp), len(tricky))
	}
	for _, name := range names {
		v, ok := exp["/"+name]
		if !ok {
			t.Errorf("%s: not exported", name)
			continue
		}
		if got, want := passText(t, v), p.show(name); !bytes.Equal(got, want) {
			t.Errorf("%s: round trip gives %q, pass shows %q (stored %s)", name, got, want, v)
		}
	}

	// The structured reading where it is lossless: fields, a string.
	check(t, s.run("", nil, "get", "web/site", "--field", "username"), 0, "me\n", "")
	check(t, s.run("", nil, "get", "web/site", "--field", "url"), 0, "https://example.com\n", "")
	check(t, s.run("", nil, "get", "plain"), 0, "pw\n", "")
	check(t, s.run("", nil, "get", "repeated", "--field", "password"), 0, "pw\n", "")
	check(t, s.run("", nil, "get", "notes/after", "--field", "notes"), 0, "free text\nmore text\n", "")

	// Imported two-factor secrets give codes (issue 19 point 3).
	const at = "1700000000"
	codeA := totpCode(t, e2eSecret, sha1.New, 1700000000, 30, 6)
	codeB := totpCode(t, otpB, sha1.New, 1700000000, 30, 6)
	check(t, s.run("", nil, "totp", "otp/one", "--time", at), 0, codeA+"\n", "")
	check(t, s.run("", nil, "totp", "otp/two", "--time", at), 0, codeA+"\n", "")
	check(t, s.run("", nil, "totp", "otp/field", "--time", at), 0, codeB+"\n", "")
	check(t, s.run("", nil, "totp", "otp/", "--time", at), 0,
		"/otp/field\t"+codeB+"\t10\n/otp/one\t"+codeA+"\t10\n/otp/two\t"+codeA+"\t10\n", "")
	check(t, s.run("", nil, "totp", "plain", "--time", at), 1, "", "not a TOTP entry")
}

// Exporting nothing is an error, so that a backup with a typo fails.
func TestExportNothing(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	r := s.run("", nil, "export")
	check(t, r, 0, "{}\n", "the store is empty")
	s.must("s", "set", "github/password")
	s.must("s", "set", "github/totp")
	check(t, s.run("", nil, "export", "github/totp"), 3, "", "is an entry, not a directory")
	check(t, s.run("", nil, "export", "nope/"), 3, "", "no such directory")
	check(t, s.run("", nil, "export", "nope"), 3, "", "no such directory")
	check(t, s.run("", nil, "export", "github"), 0, "*", "")
}

// A TOTP secret imported from a CSV export gives codes (issue 19 point 3).
func TestImportCSVTotp(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	csv := "folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp\n" +
		"web,,login,GitHub,,,0,https://github.com,octocat,gh-pass,otpauth://totp/GitHub:octocat?secret=" + e2eSecret + "\n" +
		"web,,login,Bank,,,0,https://bank.example,me,bank-pass," + strings.ToLower(otpB) + "\n"
	check(t, s.run(csv, nil, "import", "--from", "csv"), 0, "", "2 added")
	codeA := totpCode(t, e2eSecret, sha1.New, 1700000000, 30, 6)
	codeB := totpCode(t, otpB, sha1.New, 1700000000, 30, 6)
	check(t, s.run("", nil, "totp", "web/GitHub", "--time", "1700000000"), 0, codeA+"\n", "")
	check(t, s.run("", nil, "totp", "web/", "--time", "1700000000"), 0, "/web/Bank\t"+codeB+"\t10\n/web/GitHub\t"+codeA+"\t10\n", "")
}
