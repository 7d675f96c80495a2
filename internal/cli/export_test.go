package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/internal/entry"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
)

// wholeExport is the export as it was made before it was streamed: every
// value read, then the whole document built. The golden reference.
func wholeExport(paths []string, vals []json.RawMessage) string {
	if len(paths) == 0 {
		return "{}\n"
	}
	var buf bytes.Buffer
	buf.WriteString("{\n")
	for i, p := range paths {
		k, _ := entry.MarshalText([]byte(p))
		buf.WriteString("  ")
		buf.Write(k)
		buf.WriteString(": ")
		if err := json.Indent(&buf, vals[i], "  ", "  "); err != nil {
			buf.Write(vals[i])
		}
		if i < len(paths)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("}\n")
	return buf.String()
}

// referenceExport reads the entries below dir of e's store through the
// library and returns wholeExport of them.
func referenceExport(t *testing.T, e *env, dir string) string {
	t.Helper()
	f := &Factory{IO: &term.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}},
		LookupEnv: func(k string) (string, bool) { v, ok := e.vars[k]; return v, ok },
		Rand:      cryptoRand{}}
	ctx := context.Background()
	var out string
	err := f.readTask(ctx, func(tk *vault.Task) error {
		docs, err := tk.Find(ctx, dir)
		if err != nil {
			return err
		}
		vals, errs := tk.GetAll(ctx, docs)
		if err := firstError(errs...); err != nil {
			return err
		}
		out = wholeExport(docs, vals)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func firstDiff(a, b string) string {
	i := 0
	for i < min(len(a), len(b)) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("differ at byte %d of %d/%d: %q vs %q", i, len(a), len(b),
		a[max(0, i-40):min(len(a), i+40)], b[max(0, i-40):min(len(b), i+40)])
}

// The streamed export writes, chunk by chunk, the bytes the whole-document
// export wrote: nested entries, text and JSON values, TOTP entries, more
// entries than one chunk, on stdout and with -o.
func TestExportStreamsTheSameBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("s3cret\n", "set", "github/password")
	e.must(`{"user":"me","port":5432,"tags":["a","b"],"deep":{"x":[1,{"y":"\u00e9\u2028"}],"e":{}}}`, "set", "--json", "servers/db")
	e.must("multi\nline\n", "set", "notes/a b/ünïcode")
	e.must(`"quoted \"text\" <&>"`, "set", "--json", "notes/quoted")
	e.must(totpURI+"\n", "totp", "add", "github/totp")
	e.must("x", "set", "a/b/c/d/e/deep")
	var in strings.Builder
	in.WriteString("{")
	for i := range exportChunk + 37 {
		if i > 0 {
			in.WriteString(",")
		}
		fmt.Fprintf(&in, "\n%q: {\"user\":\"u%d\",\"pass\":\"p%d\",\"n\":[%d]}", fmt.Sprintf("/bulk/g%02d/site%05d", i%7, i), i, i, i)
	}
	in.WriteString("\n}\n")
	e.must(in.String(), "import")

	for _, dir := range []string{"/", "/bulk/", "/notes/"} {
		want := referenceExport(t, e, dir)
		if got := e.must("", "export", dir); got != want {
			t.Errorf("export %s: %s", dir, firstDiff(got, want))
		}
	}
	out := filepath.Join(t.TempDir(), "backup.json")
	e.must("", "export", "-o", out)
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := referenceExport(t, e, "/"); string(got) != want {
		t.Errorf("export -o: %s", firstDiff(string(got), want))
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("export -o made %v, %v; want mode 0600", st.Mode(), err)
	}
}

// A store with a damaged entry exports nothing: no byte on stdout, no file
// at the -o path and no temporary file beside it, although the values are
// read and written a chunk at a time.
func TestExportDamagedWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	for i := range 40 {
		e.must(fmt.Sprintf("value %d", i), "set", fmt.Sprintf("d%d/entry", i))
	}
	shards, _ := filepath.Glob(filepath.Join(e.dir, "shard-*"))
	if len(shards) == 0 {
		t.Fatal("no shard file")
	}
	good, err := os.ReadFile(shards[0])
	if err != nil {
		t.Fatal(err)
	}
	// Damage one item line after the other (the lines are encrypted: which
	// path each holds is not known here) until the damaged one is an
	// entry's value rather than a directory listing, which the find before
	// any output reads.
	lines := bytes.Split(good, []byte("\n"))
	for k := len(lines) - 1; ; k-- {
		if k < 2 {
			t.Fatal("no item line of the shard holds an entry's value")
		}
		bad := bytes.Clone(good)
		off := len(bytes.Join(lines[:k], []byte("\n"))) + 1 + len(lines[k])/2
		bad[off] = map[bool]byte{true: 'B', false: 'A'}[bad[off] == 'A']
		if err := os.WriteFile(shards[0], bad, 0o600); err != nil {
			t.Fatal(err)
		}
		r := e.run(false, "", "export")
		if r.code == 0 || r.out != "" {
			t.Fatalf("export of a damaged store: exit %d, stdout %q (want an error and no output)", r.code, r.out)
		}
		if !strings.Contains(r.errOut, "/entry") {
			continue // a directory listing: the find failed
		}
		if !strings.Contains(r.errOut, "nothing was exported") {
			t.Errorf("export of a damaged store: stderr %q", r.errOut)
		}
		dir := t.TempDir()
		r = e.run(false, "", "export", "-o", filepath.Join(dir, "backup.json"))
		if r.code == 0 || !strings.Contains(r.errOut, "nothing was exported") {
			t.Errorf("export -o of a damaged store: exit %d, stderr %q", r.code, r.errOut)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("export -o of a damaged store left %v", left)
		}
		return
	}
}
