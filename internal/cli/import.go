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
	"runtime/debug"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/importer"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// ImportOptions are the options of "vaultdb import".
type ImportOptions struct {
	IO        *term.IOStreams
	LookupEnv func(string) (string, bool)
	Getenv    func(string) string
	OpenTask  func(context.Context) (*vault.Task, error)
	Source    string // FILE, "-" (stdin) or, with --from pass, the store directory
	From      string // json, pass or csv
	Prefix    string
	DryRun    bool
	Overwrite bool
}

// progressThreshold is the number of entries above which an import shows
// a progress bar (when stderr is a terminal).
const progressThreshold = 300

// maxFailuresShown bounds the failures listed one per line.
const maxFailuresShown = 20

func newImportCmd(f *Factory, runF func(*ImportOptions) error) *cobra.Command {
	o := &ImportOptions{IO: f.IO, LookupEnv: f.LookupEnv, Getenv: f.getenv, OpenTask: f.openTask}
	c := &cobra.Command{
		Use:   "import [FILE|-]",
		Short: "Import entries from JSON, a pass store or a CSV export",
		Long: `Import entries into the store, all in one task. The input is, with --from:

  json  (the default) the JSON object {"path": value, ...} that "vaultdb
        export" prints, from FILE or stdin (- or no FILE)
  pass  a pass password store directory (default $PASSWORD_STORE_DIR or
        ~/.password-store); each .gpg file is decrypted with gpg. Its
        first line is the password, a "key: value" line a field, an
        otpauth:// line the field totp (so "vaultdb totp" gives its codes),
        other lines the field notes; a file of one line is a string. No
        byte is lost: where that reading would change the text (a repeated
        key, a second otpauth:// line, CRLF, no final newline, ...) the
        object also holds the whole text in the field raw, and a file that
        is not UTF-8 text becomes {"type": "binary", "base64": ...}
  csv   a CSV export of KeePassXC, Bitwarden or 1Password, from FILE or
        stdin, recognised by its header; each row becomes an object
        {username, password, url, notes, totp} at GROUP/TITLE

Existing entries are left alone unless --overwrite. --prefix DIR puts
everything below DIR. A summary on stderr says how many entries were added,
replaced, skipped and failed.`,
		Example: `  vaultdb export | vaultdb --store ~/other import
  vaultdb import backup.json --prefix old/
  vaultdb import --from pass ~/.password-store
  vaultdb import --from csv keepassxc.csv --dry-run`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			if len(a) == 1 {
				o.Source = a[0]
			}
			switch o.From {
			case "json", "csv", "pass":
			default:
				return usageErrorf("unknown --from %q: use json, pass or csv", o.From)
			}
			if runF != nil {
				return runF(o)
			}
			return runImport(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.From, "from", "json", "what the input is: `json`, pass or csv")
	fl.StringVar(&o.Prefix, "prefix", "", "import below directory `DIR`")
	fl.BoolVarP(&o.DryRun, "dry-run", "n", false, "say what would be imported, and change nothing")
	fl.BoolVar(&o.Overwrite, "overwrite", false, "replace existing entries")
	return c
}

// batchGCPercent is the garbage collector's target for import and export
// (GOGC): their live heap is mostly the store's encrypted lines, held for
// the whole run (48 MB at 100,000 entries), and what they allocate beside
// them is short-lived (blobs being written, values being decrypted), so
// the default (collect when the heap has doubled) doubled their peak RSS.
// Measured at 100,000 entries (docs/performance.md): import 263 -> 213 MB
// peak RSS for 12% more CPU, export 156 -> 128 MB for 0.2 s.
const batchGCPercent = 50

// batchGC sets batchGCPercent unless GOGC is set in the environment, and
// returns what restores the previous setting.
func batchGC() (restore func()) {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return func() {}
	}
	old := debug.SetGCPercent(batchGCPercent)
	return func() { debug.SetGCPercent(old) }
}

// importOutcome is what happened to one entry.
type importOutcome int

const (
	outcomeFailed importOutcome = iota
	outcomeAdded
	outcomeReplaced
	outcomeSkipped
)

func runImport(ctx context.Context, o *ImportOptions) error {
	prefix, err := dirPath(o.Prefix)
	if err != nil {
		return err
	}
	defer batchGC()()
	// Read the whole input before asking for the passphrase, so that a bad
	// input costs nothing.
	var entries []importer.Entry
	switch o.From {
	case "json":
		entries, err = withInput(o, importer.ReadJSON)
	case "csv":
		entries, err = withInput(o, importer.ReadCSV)
		if errors.Is(err, importer.ErrCSVHeader) {
			err = usageErrorf("%v", err)
		}
	case "pass":
		entries, err = readPassStore(ctx, o)
	default:
		return usageErrorf("unknown --from %q: use json, pass or csv", o.From)
	}
	if err != nil {
		return err
	}
	defer func() {
		for _, e := range entries {
			term.Wipe(e.Value)
		}
	}()
	// Target paths, checked before any I/O; an entry imported twice
	// (only possible with duplicate JSON keys) fails the second time.
	seen := map[string]bool{}
	for i := range entries {
		e := &entries[i]
		e.Path = prefix + strings.TrimPrefix(e.Path, "/")
		if e.Err == nil {
			e.Err = format.CheckDoc(e.Path)
		}
		if e.Err == nil && seen[e.Path] {
			e.Err = errors.New("appears twice in the input")
		}
		seen[e.Path] = true
	}

	t, err := o.OpenTask(ctx)
	if err != nil {
		return err
	}
	outcomes := make([]importOutcome, len(entries))
	bar := newImportProgress(o.IO, len(entries))
	// Every entry in one batch of the task: the engine plans a wave of
	// calls together, the next wave while the last one's writes are in
	// flight, and writes each shard about once per wave, with memory
	// bounded however many entries there are.
	errs := make([]error, len(entries))
	var todo []int
	for i, e := range entries {
		if e.Err != nil {
			errs[i] = e.Err
			bar.add()
			continue
		}
		todo = append(todo, i)
	}
	paths := make([]string, len(todo))
	for k, i := range todo {
		paths[k] = entries[i].Path
	}
	if o.DryRun {
		vals, gerrs := t.GetAll(ctx, paths)
		for k, i := range todo {
			switch err := gerrs[k]; {
			case err == nil:
				outcomes[i] = decideImport(vals[k], entries[i].Value, o.Overwrite)
			case errors.Is(err, vault.ErrNotFound):
				outcomes[i] = outcomeAdded
			default:
				errs[i] = err
			}
			bar.add()
		}
	} else {
		decided := make([]importOutcome, len(todo))
		t.UpdateEach(ctx, paths, func(k int) vault.UpdateFunc {
			e := entries[todo[k]]
			return func(old json.RawMessage) (json.RawMessage, error) {
				// This may run again after a conflict; the last run is
				// what happened.
				decided[k] = decideImport(old, e.Value, o.Overwrite)
				if decided[k] == outcomeSkipped {
					return old, nil
				}
				return e.Value, nil
			}
		}, func(k int, err error) {
			i := todo[k]
			if errs[i] = err; err == nil {
				outcomes[i] = decided[k]
			}
			bar.add()
		})
	}
	bar.finish()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return importSummary(o, entries, outcomes, errs)
}

// decideImport says what importing val over old does.
func decideImport(old, val json.RawMessage, overwrite bool) importOutcome {
	switch {
	case old == nil:
		return outcomeAdded
	case !overwrite || bytes.Equal(old, val):
		return outcomeSkipped
	default:
		return outcomeReplaced
	}
}

// importSummary prints the failures and the counts on stderr; some
// failure is an error.
func importSummary(o *ImportOptions, entries []importer.Entry, outcomes []importOutcome, errs []error) error {
	var n [4]int
	shown := 0
	for i, e := range entries {
		if errs[i] != nil {
			n[outcomeFailed]++
			if shown < maxFailuresShown {
				fmt.Fprintf(o.IO.ErrOut, "vaultdb: import: %s: %s\n", term.Printable(e.Path), term.Printable(errs[i].Error()))
				shown++
			}
			continue
		}
		n[outcomes[i]]++
	}
	if n[outcomeFailed] > shown {
		fmt.Fprintf(o.IO.ErrOut, "vaultdb: import: ... and %d more failures\n", n[outcomeFailed]-shown)
	}
	verb := "Imported"
	if o.DryRun {
		verb = "Dry run, nothing was changed; would import"
	}
	summary := fmt.Sprintf("%d added, %d replaced, %d skipped (already there), %d failed",
		n[outcomeAdded], n[outcomeReplaced], n[outcomeSkipped], n[outcomeFailed])
	if !o.Overwrite && n[outcomeSkipped] > 0 {
		summary += "; use --overwrite to replace existing entries"
	}
	fmt.Fprintf(o.IO.ErrOut, "%s %s: %s.\n", verb, plural(len(entries), "entry", "entries"), summary)
	if n[outcomeFailed] > 0 {
		return fmt.Errorf("%s of %d could not be imported", plural(n[outcomeFailed], "entry", "entries"), len(entries))
	}
	return nil
}

// withInput runs read on the input named by o.Source: a file, or stdin for
// "" and "-".
func withInput(o *ImportOptions, read func(io.Reader) ([]importer.Entry, error)) ([]importer.Entry, error) {
	if o.Source == "" || o.Source == "-" {
		return read(o.IO.In)
	}
	fh, err := os.Open(o.Source)
	if err != nil {
		return nil, fmt.Errorf("cannot read the input: %w", err)
	}
	defer fh.Close()
	return read(fh)
}

// importProgress is a progress bar on stderr, or nothing.
type importProgress struct{ bar *progressbar.ProgressBar }

// newImportProgress returns a progress bar for n entries when stderr is a
// terminal and there are enough entries for it to matter.
func newImportProgress(ios *term.IOStreams, n int) *importProgress {
	if !ios.ErrTTY || n <= progressThreshold {
		return &importProgress{}
	}
	return &importProgress{progressbar.NewOptions(n,
		progressbar.OptionSetWriter(ios.ErrOut),
		progressbar.OptionSetDescription("Importing"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (p *importProgress) add() {
	if p.bar != nil {
		p.bar.Add(1)
	}
}

func (p *importProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// readPassStore reads the pass store named by the source, or pass's own
// default ($PASSWORD_STORE_DIR, ~/.password-store).
func readPassStore(ctx context.Context, o *ImportOptions) ([]importer.Entry, error) {
	dir := o.Source
	if dir == "" || dir == "-" {
		if d := o.Getenv("PASSWORD_STORE_DIR"); d != "" {
			dir = d
		} else if home := o.Getenv("HOME"); home != "" {
			dir = filepath.Join(home, ".password-store")
		} else {
			return nil, usageErrorf("give the directory of the pass store: vaultdb import --from pass DIR")
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usageErrorf("%s is not a pass store directory", dir)
	}
	// gpg finds its keys and the terminal to ask on through these.
	var env []string
	for _, k := range []string{"GNUPGHOME", "GPG_TTY"} {
		if v, ok := o.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return importer.ReadPassStore(ctx, dir, env)
}
