package localdir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/localdir"
)

// TestWriteDetectsWriterInBetween: a Dir does not re-read the blob it
// wrote last to compare revisions (it checks that the name is still the
// file it wrote, held open). Whatever another writer does between two
// writes of the same Dir, the second write with the first one's revision
// must fail with a conflict, and succeed with the revision read anew.
func TestWriteDetectsWriterInBetween(t *testing.T) {
	ctx := context.Background()
	// referenceWrite writes as the reference implementation does: creates
	// <id>.lock with O_EXCL, writes, renames it over <id>.
	referenceWrite := func(t *testing.T, dir, id string, data []byte) {
		lock := filepath.Join(dir, id+".lock")
		f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(lock, filepath.Join(dir, id)); err != nil {
			t.Fatal(err)
		}
	}
	// inPlace writes into the blob's own file, as no writer of either
	// protocol does, keeping its size (only its times change).
	inPlace := func(t *testing.T, dir, id string, data []byte) {
		// Past the clock tick of the write before: file times are taken
		// from a coarse clock.
		time.Sleep(20 * time.Millisecond)
		f, err := os.OpenFile(filepath.Join(dir, id), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(data[:len("v1 of the blob")], 0); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name  string
		other func(t *testing.T, dir, id string, data []byte)
	}{
		{"another vaultdb writer", func(t *testing.T, dir, id string, data []byte) {
			o := localdir.New(dir, localdir.Options{})
			_, rev, err := o.Read(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.Write(ctx, id, data, rev); err != nil {
				t.Fatal(err)
			}
		}},
		{"a reference writer", referenceWrite},
		{"a writer in place", inPlace},
		{"a writer appending in place", func(t *testing.T, dir, id string, data []byte) {
			f, err := os.OpenFile(filepath.Join(dir, id), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("!"))
			f.Close()
		}},
		{"a writer replacing it by a link", func(t *testing.T, dir, id string, data []byte) {
			if err := os.WriteFile(filepath.Join(dir, "elsewhere"), data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, id)); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(filepath.Join(dir, "elsewhere"), filepath.Join(dir, id)); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			d := localdir.New(dir, localdir.Options{})
			rev1, err := d.Write(ctx, "a", []byte("v1 of the blob"), adapters.NoRev)
			if err != nil {
				t.Fatal(err)
			}
			// A write in a row with the revision it returned: the case
			// the Dir answers without reading.
			rev2, err := d.Write(ctx, "a", []byte("v2 of the blob"), rev1)
			if err != nil {
				t.Fatal(err)
			}
			c.other(t, dir, "a", []byte("v3 by the other"))
			if _, err := d.Write(ctx, "a", []byte("v4 of the blob"), rev2); !errors.Is(err, adapters.ErrConflict) {
				t.Fatalf("write with the revision from before the other writer: %v, want a conflict", err)
			}
			data, rev, err := d.Read(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			if string(data) == "v2 of the blob" {
				t.Fatalf("the other writer changed nothing: %q", data)
			}
			if _, err := d.Write(ctx, "a", []byte("v4 of the blob"), rev); err != nil {
				t.Fatalf("write with the revision read anew: %v", err)
			}
			if got, _, _ := d.Read(ctx, "a"); string(got) != "v4 of the blob" {
				t.Fatalf("blob = %q, want v4", got)
			}
		})
	}
}
