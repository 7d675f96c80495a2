package localdir

import (
	"errors"
	"io/fs"
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
