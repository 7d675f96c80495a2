package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// completionTimeout bounds how long completing a path may take: a shell
// waiting on a slow store is worse than no completion.
const completionTimeout = 3 * time.Second

// completePaths returns the dynamic completion of entry names for a
// command's first maxArgs arguments: the children of the directory being
// typed. With dirsOnly only directories are offered (for ls).
//
// It needs the passphrase and never asks for it: without --passphrase-file
// or $VAULTDB_PASSPHRASE it completes nothing, at once. Any failure (no
// store, wrong passphrase, unreachable store) also completes nothing.
func completePaths(f *Factory, maxArgs int, dirsOnly bool) cobra.CompletionFunc {
	return func(c *cobra.Command, a []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		none := cobra.ShellCompDirectiveNoFileComp
		if len(a) >= maxArgs {
			return nil, none
		}
		// Never a prompt: it would hang the shell's completion. Without
		// a passphrase from a file or the environment, only the agent's
		// keys can open the store.
		f.noPrompt = !f.hasPassphrase()
		if f.noPrompt && f.agent() == nil {
			return nil, none
		}
		ctx := c.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, completionTimeout)
		defer cancel()
		names, err := listCompletions(ctx, f, toComplete, dirsOnly)
		if err != nil || len(names) == 0 {
			return nil, none
		}
		for _, n := range names {
			if strings.HasSuffix(n, "/") {
				// A directory: let the user go on typing below it.
				return names, none | cobra.ShellCompDirectiveNoSpace
			}
		}
		return names, none
	}
}

// hasPassphrase reports whether the passphrase is available without
// asking for it.
func (f *Factory) hasPassphrase() bool {
	if f.PassphraseFile != "" {
		return true
	}
	v, ok := f.LookupEnv(envPassphrase)
	return ok && v != ""
}

// listCompletions lists the directory of the partial path toComplete and
// returns the children whose names start with what follows its last "/",
// spelled as the user spelled the directory (with or without a leading
// "/").
func listCompletions(ctx context.Context, f *Factory, toComplete string, dirsOnly bool) ([]string, error) {
	typedDir, prefix := "", toComplete
	if i := strings.LastIndexByte(toComplete, '/'); i >= 0 {
		typedDir, prefix = toComplete[:i+1], toComplete[i+1:]
	}
	dir := absPath(typedDir)
	if dir == "" || dir == "//" {
		dir = "/"
	}
	if err := format.CheckDir(dir); err != nil {
		return nil, err
	}
	// completePaths made sure that opening the store cannot prompt.
	var names []string
	err := f.readTask(ctx, func(t *vault.Task) error {
		var err error
		names, err = t.List(ctx, dir)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || (dirsOnly && !strings.HasSuffix(n, "/")) {
			continue
		}
		out = append(out, typedDir+n)
	}
	return out, nil
}
