package importer

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

	"github.com/vaultdb/vaultdb/internal/entry"
)

// ReadPassStore reads the pass (passwordstore.org) store in dir: every
// .gpg file below it, decrypted with gpg, becomes the entry at its path
// without ".gpg". Hidden files and directories (.git, .gpg-id, ...) are
// left out. gpgEnv ("NAME=value") is added to gpg's environment.
func ReadPassStore(ctx context.Context, dir string, gpgEnv []string) ([]Entry, error) {
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
	entries := make([]Entry, len(files))
	decrypt := func(i int) {
		rel, _ := filepath.Rel(dir, files[i])
		rel = filepath.ToSlash(strings.TrimSuffix(rel, ".gpg"))
		entries[i].Path = rel
		plain, err := gpgDecrypt(ctx, gpgEnv, files[i])
		if err != nil {
			entries[i].Err = err
			return
		}
		defer clear(plain)
		entries[i].Value, entries[i].Err = PassValue(plain)
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
func gpgDecrypt(ctx context.Context, env []string, file string) ([]byte, error) {
	c := exec.CommandContext(ctx, "gpg", "--decrypt", "--quiet", "--yes", "--batch", "--use-agent", "--", file)
	c.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		clear(out.Bytes())
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

// PassValue turns a decrypted pass file into a document from which the
// file's exact bytes can be had back (PassText). The structured reading:
// the first line is the password; a "key: value" line below is the field
// key; an otpauth:// line is the field totp; runs of other lines (blank
// and indented ones too) are the field notes, as they are. A file of only
// a password line is a string entry. Where that reading would lose
// anything (a repeated key, a second otpauth:// line, a "password:" or
// "notes:" line, CRLF line ends, no final newline), the object also keeps
// the whole text in the field raw. A file that is not UTF-8 text (Latin-1,
// binary) is {"type": "binary", "base64": ...}. An entry that still would
// not round-trip is an error, never a silent loss.
func PassValue(plain []byte) (json.RawMessage, error) {
	var v json.RawMessage
	if !utf8.Valid(plain) {
		v = entry.MarshalObject([]entry.Field{
			{Key: "type", Value: entry.String(binaryType)},
			{Key: "base64", Value: entry.String(base64.StdEncoding.EncodeToString(plain))},
		})
	} else {
		fs := passFields(string(plain))
		if len(fs) == 1 {
			v = fs[0].Value // only a password
		} else {
			v = entry.MarshalObject(fs)
		}
		if hasRepeatedKey(fs) || !passTextIs(v, plain) {
			// Keep what the structured reading found (first of each key),
			// and the text as it was.
			var kept []entry.Field
			seen := map[string]bool{"raw": true}
			for _, f := range fs {
				if !seen[f.Key] {
					seen[f.Key] = true
					kept = append(kept, f)
				}
			}
			v = entry.MarshalObject(append(kept, entry.Field{Key: "raw", Value: entry.String(string(plain))}))
		}
	}
	if !passTextIs(v, plain) {
		return nil, errors.New("its content cannot be imported without changing it; nothing was imported for it")
	}
	return v, nil
}

func hasRepeatedKey(fs []entry.Field) bool {
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
func passFields(text string) []entry.Field {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	fs := []entry.Field{{Key: "password", Value: entry.String(lines[0])}}
	var notes []string
	flush := func() {
		if notes != nil {
			fs = append(fs, entry.Field{Key: "notes", Value: entry.String(strings.Join(notes, "\n"))})
			notes = nil
		}
	}
	for _, line := range lines[1:] {
		if strings.HasPrefix(line, "otpauth://") {
			flush()
			fs = append(fs, entry.Field{Key: "totp", Value: entry.String(line)})
		} else if k, v, ok := passKeyValue(line); ok {
			flush()
			fs = append(fs, entry.Field{Key: k, Value: entry.String(v)})
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

// PassText is the text of a pass entry that v, as PassValue makes it,
// stands for (see PassValue); ok is false for a value it did not make.
func PassText(v json.RawMessage) (text []byte, ok bool) {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []byte(s + "\n"), true
	}
	fs, err := entry.ParseObject(v)
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
	text, ok := PassText(v)
	defer clear(text)
	return ok && bytes.Equal(text, plain)
}
