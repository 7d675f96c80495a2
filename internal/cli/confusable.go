package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vaultdb/vaultdb/internal/confusable"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// warnConfusable warns, before a new entry p is written, when its name
// holds invisible or bidirectional characters, or looks the same as a
// name already in its directory (composed and decomposed accents, Latin
// letters and their Cyrillic or Greek twins, zero-width characters). Names
// are never changed: the reference implementation does not normalise, and
// a store must mean the same to both. Failures to look are not errors:
// the write goes on and reports its own.
func warnConfusable(ctx context.Context, w io.Writer, t *vault.Task, p string) {
	if _, err := t.Get(ctx, p); !errors.Is(err, vault.ErrNotFound) {
		return // it exists (or cannot be read): not a new name
	}
	name := format.Name(p)
	if confusable.HasHidden(name) {
		fmt.Fprintf(w, "warning: the name %s holds invisible or direction-changing characters; it may display like another name\n", term.Printable(p))
	}
	names, err := t.List(ctx, format.Parent(p))
	if err != nil {
		return
	}
	sk := confusable.Skeleton(name)
	for _, n := range names {
		if n == name || strings.HasSuffix(n, "/") || confusable.Skeleton(n) != sk {
			continue
		}
		fmt.Fprintf(w, "warning: %s looks like the existing entry %s (%s); both are kept as typed\n",
			term.Printable(p), term.Printable(format.Parent(p)+n), confusable.Describe(name, n))
	}
}
