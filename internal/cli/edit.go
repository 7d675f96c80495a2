package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/entry"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// EditOptions are the options of "vaultdb edit".
type EditOptions struct {
	IO        *term.IOStreams
	Getenv    func(string) string
	OpenStore func(context.Context) (*vault.Store, error)
	Path      string
	UnsafeTmp bool
}

// editTempDirs are the candidate directories for edit's temporary file, in
// order; the first one on a memory filesystem is used. A variable for
// tests.
var editTempDirs = func(getenv func(string) string) []string {
	dirs := []string{"/dev/shm"}
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		dirs = append(dirs, d)
	}
	return dirs
}

func newEditCmd(f *Factory, runF func(*EditOptions) error) *cobra.Command {
	o := &EditOptions{IO: f.IO, Getenv: f.getenv, OpenStore: f.openStore}
	c := &cobra.Command{
		Use:   "edit PATH",
		Short: "Edit an entry in $VISUAL or $EDITOR",
		Long: `Open the entry at PATH (or a new one) in $VISUAL, else $EDITOR, else vi. A
string is edited as text (the final newline is dropped again when saving);
other values as indented JSON. The temporary file is made in a private
directory on a memory filesystem (/dev/shm, or $XDG_RUNTIME_DIR), readable
only by you, and removed afterwards whatever happens; without a memory
filesystem edit refuses unless --unsafe-tmp. The entry is saved only if the
content changed, and only if nobody changed it in the store meanwhile (on a
terminal you are asked). Ctrl-C, SIGTERM, SIGQUIT and a closed terminal
(SIGHUP) stop the editor and remove the file. vim and neovim are started
with -n -i NONE and without backup and undo files, as pass does, so that
neither a swap file nor ~/.viminfo keeps the secret; other editors may keep
their own copies (check their backup and history settings).`,
		Example: `  vaultdb edit servers/db
  EDITOR=nano vaultdb edit notes/wifi`,
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completePaths(f, 1, false),
		RunE: func(c *cobra.Command, a []string) error {
			o.Path = a[0]
			if runF != nil {
				return runF(o)
			}
			return runEdit(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.UnsafeTmp, "unsafe-tmp", false, "use the usual temporary directory, even on a disk (the secret may stay on the disk)")
	return c
}

// errChangedMeanwhile: the stored value changed while it was being edited.
var errChangedMeanwhile = errors.New("changed meanwhile")

func runEdit(ctx context.Context, o *EditOptions) error {
	// Whatever happens, including Ctrl-C, SIGTERM and a closed terminal, the
	// deferred clean-up below runs: the signals cancel ctx instead of
	// killing the process.
	ctx, stop := signal.NotifyContext(ctx, term.EditSignals...)
	defer stop()

	p, err := docPath(o.Path)
	if err != nil {
		return err
	}
	base, err := o.editTempBase()
	if err != nil {
		return err
	}
	editor := o.Getenv("VISUAL")
	if editor == "" {
		editor = o.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	s, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	orig, err := s.NewTask(ctx).Get(ctx, p)
	if err != nil && !errors.Is(err, vault.ErrNotFound) {
		return err
	}
	defer term.Wipe(orig)
	asText := orig == nil || entry.KindOf(orig) == "a string"
	content, err := editText(orig, asText)
	if err != nil {
		return err
	}
	defer term.Wipe(content)
	// stored is the text of the stored value: the edit saves only if the
	// file differs from it. content is what the file starts with: the same,
	// or the user's own version when the editor is opened again.
	stored := content

	dir, err := os.MkdirTemp(base, "vaultdb-edit-")
	if err != nil {
		return fmt.Errorf("cannot make a private temporary directory: %w", err)
	}
	defer term.RemovePrivateDir(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	ext := ".txt"
	if !asText {
		ext = ".json"
	}
	name := entry.Segment(format.Name(p))
	if name == "" || name[0] == '.' || name[0] == '-' {
		name = "entry" + name
	}
	file := filepath.Join(dir, name+ext)

	for {
		if err := term.WritePrivate(file, content); err != nil {
			return err
		}
		if err := term.RunEditor(ctx, o.IO, editor, file); err != nil {
			return err
		}
		edited, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("cannot read the edited file back (nothing was saved): %w", err)
		}
		if bytes.Equal(edited, stored) {
			term.Wipe(edited)
			fmt.Fprintf(o.IO.ErrOut, "No change to %s; nothing was saved.\n", p)
			return nil
		}
		val, err := editedValue(edited, asText)
		if err != nil {
			if !o.IO.InTTY {
				term.Wipe(edited)
				return fmt.Errorf("%w; nothing was saved", err)
			}
			if cerr := confirm(ctx, o.IO, fmt.Sprintf("%v. Edit again?", err)); cerr != nil {
				term.Wipe(edited)
				return fmt.Errorf("%w; nothing was saved", err)
			}
			// Again on what the user wrote, not on the stored value.
			content = edited
			defer term.Wipe(edited)
			continue
		}
		defer term.Wipe(val)
		err = saveEdit(ctx, o, s, p, orig, val)
		var declined *declinedError
		if !errors.As(err, &declined) {
			term.Wipe(edited)
			return err
		}
		// Changed meanwhile and "no" to replacing it: rather than losing the
		// edits, offer to edit them again against the new stored value.
		if cerr := confirm(ctx, o.IO, "Edit again?"); cerr != nil {
			term.Wipe(edited)
			return errors.New("your changes were not saved")
		}
		orig = declined.seen
		defer term.Wipe(orig)
		if orig == nil {
			// Removed meanwhile: editing again creates it anew.
			asText = entry.KindOf(val) == "a string"
		}
		if stored, err = editText(orig, asText); err != nil {
			return err
		}
		defer term.Wipe(stored)
		content = edited
		defer term.Wipe(edited)
	}
}

// editText is the text of value v as it is edited: a string as text (nil:
// an empty text), anything else as indented JSON; with a final newline.
func editText(v json.RawMessage, asText bool) ([]byte, error) {
	if asText {
		var str string
		if v != nil {
			if err := json.Unmarshal(v, &str); err != nil {
				return nil, err
			}
		}
		return append([]byte(str), '\n'), nil
	}
	out, err := entry.Indent(v)
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// declinedError: the stored value changed meanwhile and the user chose not
// to replace it; seen is the stored value now (nil: removed).
type declinedError struct{ seen json.RawMessage }

func (e *declinedError) Error() string { return "your changes were not saved: not confirmed" }

// editTempBase returns the directory in which to make edit's private
// directory: one on a memory filesystem, or with --unsafe-tmp the usual
// temporary directory.
func (o *EditOptions) editTempBase() (string, error) {
	for _, d := range editTempDirs(o.Getenv) {
		if st, err := os.Stat(d); err == nil && st.IsDir() && term.MemoryFS(d) {
			return d, nil
		}
	}
	if o.UnsafeTmp {
		if d := o.Getenv("TMPDIR"); filepath.IsAbs(d) {
			return d, nil
		}
		return os.TempDir(), nil
	}
	return "", usageErrorf("no memory filesystem (such as /dev/shm) for the temporary file, and writing the secret to a disk could leave it there: use --unsafe-tmp to accept that")
}

// editedValue turns the edited text into the value to store. Its errors
// never quote the text.
func editedValue(edited []byte, asText bool) (json.RawMessage, error) {
	if len(bytes.TrimSpace(edited)) == 0 {
		return nil, errors.New(`the entry is empty (use "vaultdb rm" to remove an entry)`)
	}
	if !asText {
		return entry.ParseValue(edited)
	}
	if bytes.HasSuffix(edited, []byte("\r\n")) {
		edited = edited[:len(edited)-2]
	} else if bytes.HasSuffix(edited, []byte("\n")) {
		edited = edited[:len(edited)-1]
	}
	return entry.MarshalText(edited)
}

// saveEdit stores val at p, provided the stored value is still orig (nil:
// absent). If it changed meanwhile, it asks on a terminal, and refuses
// otherwise.
func saveEdit(ctx context.Context, o *EditOptions, s *vault.Store, p string, orig, val json.RawMessage) error {
	t := s.NewTask(ctx)
	base := orig
	for range 5 {
		var seen json.RawMessage
		err := t.Update(ctx, p, func(old json.RawMessage) (json.RawMessage, error) {
			seen = old
			if !bytes.Equal(old, base) {
				return nil, errChangedMeanwhile
			}
			return val, nil
		})
		if err == nil {
			if o.IO.ErrTTY {
				fmt.Fprintf(o.IO.ErrOut, "Saved %s.\n", p)
			}
			return nil
		}
		if !errors.Is(err, errChangedMeanwhile) {
			return fmt.Errorf("your changes were not saved: %w", err)
		}
		what := "changed"
		if seen == nil {
			what = "removed"
		}
		if !o.IO.InTTY {
			return fmt.Errorf("%s was %s in the store while you were editing it; your changes were not saved", p, what)
		}
		if err := confirm(ctx, o.IO, fmt.Sprintf("%s was %s in the store while you were editing it. Replace it with your version?", p, what)); err != nil {
			if errors.Is(err, errNotConfirmed) {
				return &declinedError{seen}
			}
			return fmt.Errorf("your changes were not saved: %w", err)
		}
		base = seen
	}
	return fmt.Errorf("%s keeps changing in the store; your changes were not saved", p)
}
