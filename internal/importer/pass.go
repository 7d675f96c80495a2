package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
)

// readPassStore reads a pass (passwordstore.org) store: every .gpg file
// below the directory, decrypted with gpg, becomes the entry at its path
// without ".gpg". Hidden files and directories (.git, .gpg-id, ...) are
// left out.
func readPassStore(ctx context.Context, o *ImportOptions) ([]importEntry, error) {
	dir := o.Source
	if dir == "" || dir == "-" {
		if d := o.getenv("PASSWORD_STORE_DIR"); d != "" {
			dir = d
		} else if home := o.getenv("HOME"); home != "" {
			dir = filepath.Join(home, ".password-store")
		} else {
			return nil, usageErrorf("give the directory of the pass store: vaultdb import --from pass DIR")
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usageErrorf("%s is not a pass store directory", dir)
	}
	if _, err := exec.LookPath("gpg"); err != nil {
		return nil, errors.New("importing a pass store needs gpg, which is not installed (on Debian or Ubuntu: apt-get install gnupg)")
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".gpg") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read the pass store: %w", err)
	}
	entries := make([]importEntry, len(files))
	decrypt := func(i int) {
		rel, _ := filepath.Rel(dir, files[i])
		rel = filepath.ToSlash(strings.TrimSuffix(rel, ".gpg"))
		entries[i].path = rel
		plain, err := gpgDecrypt(ctx, o.Factory, files[i])
		if err != nil {
			entries[i].err = err
			return
		}
		defer wipe(plain)
		entries[i].val, entries[i].err = passValue(plain)
	}
	if len(files) == 0 {
		return nil, nil
	}
	// The first file alone, so that gpg-agent asks for the key's
	// passphrase (if it has one) once; then the others in parallel.
	decrypt(0)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.NumCPU(), 8) {
		wg.Go(func() {
			for i := range jobs {
				decrypt(i)
			}
		})
	}
	for i := 1; i < len(files); i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return entries, nil
}

// gpgDecrypt decrypts file with the gpg binary, as pass does. Its error
// holds gpg's last message, never the content.
func gpgDecrypt(ctx context.Context, f *Factory, file string) ([]byte, error) {
	c := exec.CommandContext(ctx, "gpg", "--decrypt", "--quiet", "--yes", "--batch", "--use-agent", "--", file)
	c.Env = os.Environ()
	for _, k := range []string{"GNUPGHOME", "GPG_TTY"} {
		if v, ok := f.LookupEnv(k); ok {
			c.Env = append(c.Env, k+"="+v)
		}
	}
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		wipe(out.Bytes())
		msg := strings.TrimSpace(errOut.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("gpg cannot decrypt it: %s", msg)
	}
	return out.Bytes(), nil
}

// passValue turns a decrypted pass file into a document from which the
// file's exact bytes can be had back (passText). The structured reading:
// the first line is the password; a "key: value" line below is the field
// key; an otpauth:// line is the field totp; runs of other lines (blank
// and indented ones too) are the field notes, as they are. A file of only
// a password line is a string entry. Where that reading would lose
// anything (a repeated key, a second otpauth:// line, a "password:" or
// "notes:" line, CRLF line ends, no final newline), the object also keeps
// the whole text in the field raw. A file that is not UTF-8 text (Latin-1,
// binary) is {"type": "binary", "base64": ...}. An entry that still would
// not round-trip is an error, never a silent loss.
func passValue(plain []byte) (json.RawMessage, error) {
	var v json.RawMessage
	if !utf8.Valid(plain) {
		v = marshalObject([]field{
			{Key: "type", Value: jsonString(binaryType)},
			{Key: "base64", Value: jsonString(base64.StdEncoding.EncodeToString(plain))},
		})
	} else {
		fs := passFields(string(plain))
		if len(fs) == 1 {
			v = fs[0].Value // only a password
		} else {
			v = marshalObject(fs)
		}
		if hasRepeatedKey(fs) || !passTextIs(v, plain) {
			// Keep what the structured reading found (first of each key),
			// and the text as it was.
			var kept []field
			seen := map[string]bool{"raw": true}
			for _, f := range fs {
				if !seen[f.Key] {
					seen[f.Key] = true
					kept = append(kept, f)
				}
			}
			v = marshalObject(append(kept, field{Key: "raw", Value: jsonString(string(plain))}))
		}
	}
	if !passTextIs(v, plain) {
		return nil, errors.New("its content cannot be imported without changing it; nothing was imported for it")
	}
	return v, nil
}

func hasRepeatedKey(fs []field) bool {
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.Key] {
			return true
		}
		seen[f.Key] = true
	}
	return false
}

// binaryType marks a pass entry imported as bytes.
const binaryType = "binary"

// passFields is the structured reading of the text of a pass entry, in
// line order, keys possibly repeated.
func passFields(text string) []field {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	fs := []field{{Key: "password", Value: jsonString(lines[0])}}
	var notes []string
	flush := func() {
		if notes != nil {
			fs = append(fs, field{Key: "notes", Value: jsonString(strings.Join(notes, "\n"))})
			notes = nil
		}
	}
	for _, line := range lines[1:] {
		if strings.HasPrefix(line, "otpauth://") {
			flush()
			fs = append(fs, field{Key: "totp", Value: jsonString(line)})
		} else if k, v, ok := passKeyValue(line); ok {
			flush()
			fs = append(fs, field{Key: k, Value: jsonString(v)})
		} else {
			notes = append(notes, line)
		}
	}
	flush()
	return fs
}

// passKeyValue splits a "key: value" line. The key is a name (no
// surrounding space, no "/" or ":" so that a URL is not one); the value
// is everything after ": ", spaces included.
func passKeyValue(line string) (k, v string, ok bool) {
	k, v, ok = strings.Cut(line, ": ")
	if !ok || k == "" || len(k) > 64 || strings.TrimSpace(k) != k || strings.ContainsAny(k, "/:\t") {
		return "", "", false
	}
	return k, v, true
}

// passText is the text of a pass entry that v, as passValue makes it,
// stands for (see passValue); ok is false for a value it did not make.
func passText(v json.RawMessage) (text []byte, ok bool) {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []byte(s + "\n"), true
	}
	fs, err := parseObject(v)
	if err != nil {
		return nil, false
	}
	vals := map[string]string{}
	for _, f := range fs {
		var s string
		if json.Unmarshal(f.Value, &s) != nil {
			return nil, false
		}
		vals[f.Key] = s
	}
	if raw, ok := vals["raw"]; ok {
		return []byte(raw), true
	}
	if vals["type"] == binaryType {
		b, err := base64.StdEncoding.DecodeString(vals["base64"])
		return b, err == nil
	}
	var b strings.Builder
	b.WriteString(vals["password"] + "\n")
	for _, f := range fs {
		switch val := vals[f.Key]; {
		case f.Key == "password":
		case f.Key == "notes", f.Key == "totp" && strings.HasPrefix(val, "otpauth://"):
			b.WriteString(val + "\n")
		default:
			b.WriteString(f.Key + ": " + val + "\n")
		}
	}
	return []byte(b.String()), true
}

func passTextIs(v json.RawMessage, plain []byte) bool {
	text, ok := passText(v)
	defer wipe(text)
	return ok && bytes.Equal(text, plain)
}

// jsonString returns the JSON string for s, which is UTF-8 (invalid bytes
// would be replaced: passValue checks before).
func jsonString(s string) json.RawMessage {
	b, err := marshalText([]byte(s))
	if err != nil {
		b, _ = marshalText([]byte(strings.ToValidUTF8(s, "\uFFFD")))
	}
	return b
}
