package dropbox

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dbx "github.com/vaultdb/vaultdb/adapters/dropbox"
)

func TestLoadTokenChecks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "t.json")
	if err := SaveToken(path, &TokenFile{Token: &dbx.Token{RefreshToken: "r"}}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadToken(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable token file: %v", err)
	}
	os.WriteFile(path, []byte("{broken"), 0o600)
	os.Chmod(path, 0o600)
	if _, err := LoadToken(path); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("broken token file: %v", err)
	}
	os.WriteFile(path, []byte(`{"note":"x"}`), 0o600)
	if _, err := LoadToken(path); !errors.Is(err, ErrNoToken) {
		t.Fatalf("empty token file: %v", err)
	}
	if _, err := LoadToken(filepath.Join(dir, "none")); !errors.Is(err, ErrNoToken) {
		t.Fatalf("missing token file: %v", err)
	}
	if err := SaveToken(path, nil); err == nil {
		t.Fatal("saved nil")
	}
}

func TestTokenFileRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cfg", "vaultdb", TokenFileName)
	tok := &dbx.Token{AccessToken: "at", RefreshToken: "rt", Expiry: time.Now().Add(time.Hour).Round(time.Second)}
	if err := SaveToken(path, &TokenFile{AppKey: "k", AccountID: "dbid:a", Token: tok}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{path: 0o600, filepath.Dir(path): 0o700 | fs.ModeDir} {
		if st, err := os.Stat(p); err != nil || st.Mode() != want {
			t.Errorf("%s: mode %v, want %v (%v)", p, st.Mode(), want, err)
		}
	}
	tf, err := LoadToken(path)
	if err != nil {
		t.Fatal(err)
	}
	if tf.AppKey != "k" || tf.AccountID != "dbid:a" || tf.Token.RefreshToken != "rt" || tf.Token.AccessToken != "at" || !tf.Token.Expiry.Equal(tok.Expiry) {
		t.Fatalf("loaded %+v %+v", tf, tf.Token)
	}
	for range 2 {
		if err := RemoveToken(path); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := LoadToken(path); !errors.Is(err, ErrNoToken) {
		t.Fatalf("load after remove: %v", err)
	}
}
