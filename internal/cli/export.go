package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/entry"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
)

// ExportOptions are the options of "vaultdb export".
type ExportOptions struct {
	IO       *term.IOStreams
	ReadTask func(ctx context.Context, read func(*vault.Task) error) error
	Dir      string
	Format   string
	Force    bool
	Output   string
}

func newExportCmd(f *Factory, runF func(*ExportOptions) error) *cobra.Command {
	o := &ExportOptions{IO: f.IO, ReadTask: f.readTask}
	c := &cobra.Command{
		Use:   "export [DIR]",
		Short: "Print every entry below DIR as one JSON object, in clear",
		Long: `Print every entry below DIR (by default the whole store) as one JSON object
{"/path": value, ...} on stdout, sorted by path, for a backup or to move the
entries to another store with "vaultdb import". The output holds all those
secrets in clear: it is refused on a terminal unless --force. With -o FILE
it is written to FILE, created readable by you only (0600) and replaced
atomically; a shell redirection (> FILE) makes a file others may read.
A DIR with
no entry below it (a typo, or an entry's path) is an error with exit code 3,
so that a backup script cannot succeed with an empty backup; an empty store
exports {} with a note on stderr.`,
		Example: `  vaultdb export -o backup.json
  vaultdb export work/ | vaultdb --store /mnt/usb/vault import
  vaultdb export | gpg --encrypt -r me@example.com > backup.json.gpg`,
		Args:              args(cobra.MaximumNArgs(1)),
		ValidArgsFunction: completePaths(f, 1, true),
		RunE: func(c *cobra.Command, a []string) error {
			if len(a) == 1 {
				o.Dir = a[0]
			}
			if runF != nil {
				return runF(o)
			}
			return runExport(c.Context(), o)
		},
	}
	c.Flags().StringVar(&o.Format, "format", "json", "output `FORMAT` (only json)")
	c.Flags().BoolVarP(&o.Force, "force", "f", false, "print to a terminal all the same")
	c.Flags().StringVarP(&o.Output, "output", "o", "", "write to `FILE` (mode 0600, replaced atomically) instead of stdout")
	return c
}

func runExport(ctx context.Context, o *ExportOptions) error {
	if o.Format != "json" {
		return usageErrorf("unknown --format %q: the only format is json", o.Format)
	}
	dir, err := dirPath(o.Dir)
	if err != nil {
		return err
	}
	if o.IO.OutTTY && !o.Force && o.Output == "" {
		return usageErrorf("refusing to print every secret in clear on the terminal: redirect the output to a file or a pipe, or use --force")
	}
	defer batchGC()()
	// One task: one find, then the values read a chunk at a time, each
	// shard read once for all. The output is written as it is made, so
	// that only one chunk's values are in memory, not the whole document
	// (an export of 100,000 entries peaked at 250-570 MB).
	started := false
	err = o.ReadTask(ctx, func(t *vault.Task) error {
		if started {
			// readTask runs this again only after an error; output that
			// was begun is not written twice.
			return errors.New("the export was interrupted; run it again")
		}
		docs, err := t.Find(ctx, dir)
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			// A backup script with a typo must not "succeed" with an
			// empty backup: only an empty store exports {} without an
			// error (once readTask made sure the agent's keys are the
			// store's).
			if dir != "/" {
				return exportNothing(ctx, t, dir)
			}
			return errEmptyStore
		}
		// Every value is read and checked before the first byte is
		// written, so that a damaged entry exports nothing, on stdout as
		// in a file, as when the whole document was built first. The
		// second reading decrypts again from the task's cached shards.
		if err := exportValues(ctx, t, docs, nil); err != nil {
			return fmt.Errorf("nothing was exported: %w", err)
		}
		started = true
		return o.writeOutput(func(w io.Writer) error {
			return exportValues(ctx, t, docs, w)
		})
	})
	if errors.Is(err, errEmptyStore) {
		fmt.Fprintln(o.IO.ErrOut, "vaultdb: export: the store is empty, nothing to export.")
		return o.writeOutput(func(w io.Writer) error {
			_, err := io.WriteString(w, "{}\n")
			return err
		})
	}
	return err
}

// writeOutput runs write on the export's destination: stdout, or with -o
// a new file that replaces FILE only once write has succeeded.
func (o *ExportOptions) writeOutput(write func(io.Writer) error) error {
	if o.Output == "" {
		return write(o.IO.Out)
	}
	return writeFilePrivate(o.Output, write)
}

// writeFilePrivate replaces name with what write writes, readable by its
// owner only: a new file of mode 0600 in the same directory, synced, then
// renamed over name, so that a failed export leaves no half-written backup
// and the secrets are never in a file others may read.
func writeFilePrivate(name string, write func(io.Writer) error) error {
	fail := func(err error) error { return fmt.Errorf("cannot write %s (nothing was written there): %w", name, err) }
	if st, err := os.Stat(name); err == nil && !st.Mode().IsRegular() {
		return fail(errors.New("not a regular file"))
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes 0600 files; say so in case that ever changes.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fail(err)
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// exportNothing is the error for a directory below which there is no
// entry: dir names an entry (export prints directories), or nothing.
func exportNothing(ctx context.Context, t *vault.Task, dir string) error {
	p := strings.TrimSuffix(dir, "/")
	if _, err := t.Get(ctx, p); err == nil {
		return notFoundf("%s is an entry, not a directory: export prints the entries below a directory (print this one with \"vaultdb get %s\")", p, p[1:])
	}
	return notFoundf("%s: no such directory, nothing was exported (see \"vaultdb ls\")", dir)
}

// exportChunk is how many values export reads at a time: the shards are
// in the task's cache after the find, so a read is a decryption, and a
// chunk of Window started that many goroutines at once (32 MB of stacks).
const exportChunk = 512

// exportValues reads the values of paths a chunk at a time and, when w is
// not nil, writes {"path": value, ...} in the order given, indented by two
// spaces, with a final newline. With a nil w it only reads them: the first
// failure to read one is the error. Values and the text made of them are
// wiped once written.
func exportValues(ctx context.Context, t *vault.Task, paths []string, w io.Writer) error {
	var buf bytes.Buffer
	defer func() { b := buf.Bytes(); term.Wipe(b[:cap(b)]) }()
	flush := func() error {
		_, err := w.Write(buf.Bytes())
		term.Wipe(buf.Bytes())
		buf.Reset()
		return err
	}
	if w != nil {
		buf.WriteString("{\n")
	}
	for start := 0; start < len(paths); start += exportChunk {
		chunk := paths[start:min(len(paths), start+exportChunk)]
		vals, errs := t.GetAll(ctx, chunk)
		err := firstError(errs...)
		if err == nil && w != nil {
			for i, p := range chunk {
				writeExportEntry(&buf, p, vals[i], start+i == len(paths)-1)
			}
			err = flush()
		}
		for _, v := range vals {
			term.Wipe(v)
		}
		if err != nil {
			return err
		}
	}
	if w == nil {
		return nil
	}
	buf.WriteString("}\n")
	return flush()
}

// writeExportEntry writes one "path": value line of the export.
func writeExportEntry(buf *bytes.Buffer, path string, val json.RawMessage, last bool) {
	k, _ := entry.MarshalText([]byte(path))
	buf.WriteString("  ")
	buf.Write(k)
	buf.WriteString(": ")
	if err := json.Indent(buf, val, "  ", "  "); err != nil {
		buf.Write(val)
	}
	if !last {
		buf.WriteByte(',')
	}
	buf.WriteByte('\n')
}
