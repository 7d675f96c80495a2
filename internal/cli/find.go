package cli

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/entry"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
)

// FindOptions are the options of "vaultdb find".
type FindOptions struct {
	ReadTask func(ctx context.Context, read func(*vault.Task) error) error
	IO       *term.IOStreams
	Patterns []string
}

func newFindCmd(f *Factory, runF func(*FindOptions) error) *cobra.Command {
	o := &FindOptions{ReadTask: f.readTask, IO: f.IO}
	return &cobra.Command{
		Use:   "find PATTERN...",
		Short: "List the entries whose path holds a pattern",
		Long: `List, one per line, the path of every entry that holds one of the PATTERNs
anywhere in its path, ignoring case (as "pass find" does). Only names are
read: no value is decrypted or printed. No match is exit code 3.`,
		Example: `  vaultdb find github
  vaultdb find mail bank`,
		Aliases: []string{"search"},
		Args:    args(cobra.MinimumNArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			o.Patterns = a
			if runF != nil {
				return runF(o)
			}
			return runFind(c.Context(), o)
		},
	}
}

func runFind(ctx context.Context, o *FindOptions) error {
	var b strings.Builder
	err := o.ReadTask(ctx, func(t *vault.Task) error {
		docs, err := t.Find(ctx, "/")
		if err != nil {
			return err
		}
		b.Reset()
		for _, d := range docs {
			for _, p := range o.Patterns {
				if strings.Contains(strings.ToLower(d), strings.ToLower(p)) {
					b.WriteString(d + "\n")
					break
				}
			}
		}
		if b.Len() == 0 {
			return notFoundf("no entry has %s in its path (see \"vaultdb ls -r\")", strings.Join(quoteAll(o.Patterns), " or "))
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = o.IO.Out.Write([]byte(b.String()))
	return err
}

// GrepOptions are the options of "vaultdb grep".
type GrepOptions struct {
	IO         *term.IOStreams
	ReadTask   func(ctx context.Context, read func(*vault.Task) error) error
	Pattern    string
	Dir        string
	IgnoreCase bool
	Force      bool
}

func newGrepCmd(f *Factory, runF func(*GrepOptions) error) *cobra.Command {
	o := &GrepOptions{IO: f.IO, ReadTask: f.readTask}
	c := &cobra.Command{
		Use:   "grep REGEXP [DIR]",
		Short: "Search inside the values of every entry (below DIR)",
		Long: `Print "path:line" for every line of a value that matches REGEXP (Go's RE2
syntax: no backtracking, so any pattern runs in linear time), in every entry
below DIR (default: the whole store). Values are read as "get" prints them:
strings as they are, other values as indented JSON. All entries are read in
one task, one read per shard. The matching lines are secrets in clear: on a
terminal, as "get" does, they are shown. No match is exit code 3.`,
		Example: `  vaultdb grep octocat
  vaultdb grep -i 'user(name)?:' work/`,
		Args:              args(cobra.RangeArgs(1, 2)),
		ValidArgsFunction: completePaths(f, 2, true),
		RunE: func(c *cobra.Command, a []string) error {
			o.Pattern = a[0]
			if len(a) == 2 {
				o.Dir = a[1]
			}
			if runF != nil {
				return runF(o)
			}
			return runGrep(c.Context(), o)
		},
	}
	c.Flags().BoolVarP(&o.IgnoreCase, "ignore-case", "i", false, "ignore case")
	return c
}

func runGrep(ctx context.Context, o *GrepOptions) error {
	expr := o.Pattern
	if o.IgnoreCase {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		// The pattern is the user's own, not a secret: say what is wrong.
		return usageErrorf("the pattern is not a valid regular expression: %v", err)
	}
	dir, err := dirPath(o.Dir)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	defer func() { term.Wipe(out.Bytes()) }()
	var damaged []string
	err = o.ReadTask(ctx, func(t *vault.Task) error {
		term.Wipe(out.Bytes())
		out.Reset()
		damaged = damaged[:0]
		docs, err := t.Find(ctx, dir)
		if err != nil {
			return err
		}
		if len(docs) == 0 && dir != "/" {
			return exportNothing(ctx, t, dir)
		}
		// Every value at once: the task reads each shard once.
		vals, errs := t.GetAll(ctx, docs)
		if err := firstError(errs...); err != nil {
			return err
		}
		for i, d := range docs {
			text, err := entry.Text(vals[i])
			if err != nil {
				damaged = append(damaged, d)
				continue
			}
			for line := range bytes.SplitSeq(text, []byte("\n")) {
				if re.Match(line) {
					out.WriteString(d + ":")
					out.Write(line)
					out.WriteByte('\n')
				}
			}
			term.Wipe(text)
			term.Wipe(vals[i])
		}
		if out.Len() == 0 {
			return notFoundf("no value below %s matches the pattern", dir)
		}
		return nil
	})
	for _, d := range damaged {
		fmt.Fprintf(o.IO.ErrOut, "vaultdb: grep: the value of %s is damaged; skipped\n", d)
	}
	if err != nil {
		return err
	}
	_, err = o.IO.Out.Write(out.Bytes())
	return err
}

func quoteAll(a []string) []string {
	q := make([]string, len(a))
	for i, s := range a {
		q[i] = fmt.Sprintf("%q", s)
	}
	return q
}
