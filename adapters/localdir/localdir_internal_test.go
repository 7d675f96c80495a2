package localdir

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vaultdb/vaultdb/adapters"
)

func TestMapError(t *testing.T) {
	tests := []struct {
		errno     unix.Errno
		transient bool
		want      string
	}{
		{unix.EROFS, false, "read-only filesystem"},
		{unix.EACCES, false, "permission denied on the store directory /store"},
		{unix.EPERM, false, "permission denied on the store directory /store"},
		{unix.ENOSPC, false, "disk full"},
		{unix.EDQUOT, false, "disk quota exceeded"},
		{unix.ENOTDIR, false, "not a directory"},
		{unix.EMFILE, true, ""},
		{unix.EIO, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.errno.Error(), func(t *testing.T) {
			cause := &fs.PathError{Op: "open", Path: "/store/.tmp-config.1", Err: tt.errno}
			err := mapError("write", "config", "/store", cause)
			var ae *adapters.Error
			if !errors.As(err, &ae) || ae.Op != "write" || ae.ID != "config" {
				t.Fatalf("mapError returned %#v, want an *adapters.Error for write of config", err)
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("%v does not wrap the errno", err)
			}
			for _, kind := range []error{adapters.ErrConflict, adapters.ErrNotFound, adapters.ErrUnauthorized} {
				if errors.Is(err, kind) {
					t.Errorf("%v matches %v", err, kind)
				}
			}
			if got := errors.Is(err, adapters.ErrTransient); got != tt.transient {
				t.Errorf("%v: transient = %v, want %v", err, got, tt.transient)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("message %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"config", "shard-0000-7fff", "a", "0", "-", strings.Repeat("a", maxIDLen)} {
		if err := validateID(id); err != nil {
			t.Errorf("validateID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", ".lock-config", ".tmp-a.1", "../x", "a/b", "/abs", "A", "a b",
		"a\x00", "a\n", "é", "a.b", "a_b", strings.Repeat("a", maxIDLen+1)} {
		if err := validateID(id); err == nil {
			t.Errorf("validateID(%q) = nil, want an error", id)
		}
	}
}

// A read allocates about the file's size once: a buffer sized to the file
// was still doubled by bytes.Buffer.ReadFrom to find the end of the file.
func TestReadFileAllocatesItsSizeOnce(t *testing.T) {
	const size = 8 << 20
	name := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(name, bytes.Repeat([]byte{'x'}, size), 0o600); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	data, err := readFile(name)
	runtime.ReadMemStats(&after)
	if err != nil || len(data) != size {
		t.Fatalf("readFile: %d bytes, %v", len(data), err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > size+size/4 {
		t.Fatalf("reading a %d MiB file allocated %.1f MiB", size>>20, float64(got)/(1<<20))
	}
}
