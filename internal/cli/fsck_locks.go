package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/internal/location"
)

// lockFileStore is implemented by stores whose writers can leave a lock
// file behind when they die (adapters/localdir: the reference
// implementation's <id>.lock, see its package documentation).
type lockFileStore interface {
	LockFiles() ([]localdir.LockFile, error)
	ClearLockFile(ctx context.Context, id string) (localdir.LockFile, bool, error)
}

// checkLockFiles reports the lock files of the store at loc that no live
// vaultdb writer holds and, with repair, removes the abandoned ones. It
// returns how many problems it found (abandoned lock files: they block the
// reference implementation's writes of their blob) and how many remain.
// A young lock file of another program is only noted: it may belong to a
// write in progress.
func (o *FsckOptions) checkLockFiles(ctx context.Context, out io.Writer, loc location.Location) (found, remaining int, err error) {
	base, err := loc.Scheme.Open(ctx, o.LocationEnv(), loc.Where)
	if err != nil {
		return 0, 0, err
	}
	ls, ok := base.(lockFileStore)
	if !ok {
		return 0, 0, nil
	}
	locks, err := ls.LockFiles()
	if err != nil {
		return 0, 0, fmt.Errorf("cannot list the lock files of the store at %s: %w", loc, err)
	}
	for _, lf := range locks {
		name := filepath.Base(lf.Path)
		if !lf.Abandoned() {
			fmt.Fprintf(out, "note: %s: another program is writing %s, or its writer stopped %s ago; it is treated as abandoned once it is %s old\n",
				name, lf.Blob, lf.Age.Round(time.Second), localdir.DefaultStaleAfter)
			continue
		}
		found++
		fmt.Fprintf(out, "abandoned-lock %s: %s; it blocks the reference implementation's writes of %s\n", name, lockOrigin(lf), lf.Blob)
		if !o.Repair {
			remaining++
			continue
		}
		if _, removed, err := ls.ClearLockFile(ctx, lf.Blob); err != nil {
			fmt.Fprintf(out, "repair: could not remove %s: %v\n", name, err)
			remaining++
		} else if removed {
			fmt.Fprintf(out, "repair: removed %s\n", name)
		}
	}
	return found, remaining, nil
}

func lockOrigin(lf localdir.LockFile) string {
	switch {
	case lf.Kind != "":
		return "it is " + lf.Kind + ", which no writer makes"
	case lf.Ours:
		return "left by a vaultdb writer that stopped"
	}
	return fmt.Sprintf("left %s ago by another program's writer that stopped", lf.Age.Round(time.Second))
}
