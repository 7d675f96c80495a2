package cmd

import (
	"bytes"
	"context"
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

// passValue turns a decrypted pass file into a document: its first line is
// the password; "key: value" lines below are fields, an otpauth:// line is
// the field totp, and any other lines are kept in the field notes. A file
// of only a password is a string entry.
func passValue(plain []byte) (json.RawMessage, error) {
	text := strings.ReplaceAll(string(plain), "\r\n", "\n")
	password, rest, _ := strings.Cut(text, "\n")
	var fs []field
	var notes []string
	set := func(k, v string) {
		for i := range fs {
			if fs[i].key == k {
				fs[i].val = jsonString(v)
				return
			}
		}
		fs = append(fs, field{k, jsonString(v)})
	}
	for _, line := range strings.Split(strings.TrimRight(rest, "\n"), "\n") {
		switch k, v, ok := strings.Cut(line, ":"); {
		case strings.TrimSpace(line) == "":
			if len(notes) > 0 {
				notes = append(notes, "")
			}
		case strings.HasPrefix(line, "otpauth://"):
			set("totp", strings.TrimSpace(line))
		case ok && validFieldName(k):
			set(strings.TrimSpace(k), strings.TrimSpace(v))
		default:
			notes = append(notes, line)
		}
	}
	if len(fs) == 0 && len(notes) == 0 {
		return marshalText([]byte(password))
	}
	if len(notes) > 0 {
		set("notes", strings.TrimRight(strings.Join(notes, "\n"), "\n"))
	}
	all := []field{{"password", jsonString(password)}}
	for _, f := range fs {
		if f.key != "password" {
			all = append(all, f)
		}
	}
	return marshalObject(all), nil
}

// validFieldName reports whether k (before the ":" of a line) looks like a
// field name rather than text that happens to hold a colon.
func validFieldName(k string) bool {
	k = strings.TrimSpace(k)
	return k != "" && len(k) <= 64 && !strings.ContainsAny(k, "/\t") && !strings.Contains(k, "://")
}

// jsonString returns the JSON string for s (invalid UTF-8 replaced).
func jsonString(s string) json.RawMessage {
	b, err := marshalText([]byte(s))
	if err != nil {
		b, _ = marshalText([]byte(strings.ToValidUTF8(s, "\uFFFD")))
	}
	return b
}
