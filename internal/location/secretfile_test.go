package location

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf")
	p := filepath.Join(dir, "token.json")
	if _, err := OpenSecret(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if err := WriteSecret(p, []byte("s3cret\n")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{p: 0o600, dir: 0o700} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", path, st.Mode().Perm(), want, err)
		}
	}
	f, err := OpenSecret(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()

	// Readable by others, a symlink, a directory: refused.
	os.Chmod(p, 0o640)
	if _, err := OpenSecret(p); err == nil || !strings.Contains(err.Error(), "other users may read it") {
		t.Errorf("group-readable file: %v", err)
	}
	os.Chmod(p, 0o600)
	link := filepath.Join(dir, "link.json")
	os.Symlink(p, link)
	if f, err := OpenSecret(link); err == nil {
		f.Close()
		t.Error("opened a token file through a symlink")
	}
	if f, err := OpenSecret(dir); err == nil {
		f.Close()
		t.Error("opened a directory as a token file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
