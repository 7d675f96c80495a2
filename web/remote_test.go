package web

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
	"github.com/vaultdb/vaultdb/vault"
)

func TestMain(m *testing.M) {
	code := m.Run()
	rstest.Shutdown()
	os.Exit(code)
}

// TestBrowserRemoteStorage: a store that the Go engine (as the command
// line uses it) created on armadietto opens in the page, which reads an
// entry and writes one back through fetch; the Go engine reads it.
func TestBrowserRemoteStorage(t *testing.T) {
	chromium := needBrowser(t)
	srv := rstest.Get(t, rstest.Armadietto)
	st := srv.NewStore(t, "web")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	pass := []byte("a passphrase for the page")
	ad, err := remotestorage.New(st.Options())
	if err != nil {
		t.Fatal(err)
	}
	s, err := vault.Create(ctx, ad, pass, vault.CreateOptions{Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.NewTask(ctx).Set(ctx, "/cli/entry", json.RawMessage(`{"user":"alice","password":"from Go"}`)); err != nil {
		t.Fatal(err)
	}

	url := serveSite(t, ctx, "remotestorage")
	cfg, _ := json.Marshal(map[string]string{
		"root": st.Root, "token": st.Token, "passphrase": string(pass),
		"readPath": "/cli/entry", "writePath": "/web/entry", "writeValue": "from the page",
	})
	out := runNode(t, ctx, chromium, cfg, "remote.mjs", url, artifactDir(t, "remotestorage.png"))
	var r struct {
		Error      string
		PageErrors []string
		Console    []string
		FromGo     map[string]string
		Entries    []string
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("remote.mjs printed no result: %v\n%s", err, out)
	}
	if r.Error != "" {
		t.Fatalf("the page failed: %s\nconsole errors: %q", r.Error, r.Console)
	}
	if len(r.PageErrors) > 0 {
		t.Errorf("uncaught errors in the page: %v", r.PageErrors)
	}
	if r.FromGo["password"] != "from Go" {
		t.Errorf("the page read %v from the entry Go wrote", r.FromGo)
	}
	v, err := s.NewTask(ctx).Get(ctx, "/web/entry")
	if err != nil {
		t.Fatalf("reading back the page's entry: %v", err)
	}
	if string(v) != `"from the page"` {
		t.Errorf("the page's entry reads %s", v)
	}
}
