package interop

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// staleRefJS is a reference client kept open, as a web page keeps it: it
// opens the store once (reading the config once, as the reference always
// does), then runs one operation per line of its stdin ("update PATH JSON"
// or "remove PATH") and prints "ok" or "err MESSAGE".
const staleRefJS = `'use strict'
const path = require('path')
const [refDir, storeDir] = process.argv.slice(2)
const Store = require(path.join(refDir, 'lib', 'store'))
const FileAdapter = require(path.join(refDir, 'lib', 'adapters', 'file'))
const say = (l) => require('fs').writeSync(1, l + '\n')
process.on('unhandledRejection', (e) => process.stderr.write('unhandled rejection: ' + ((e && e.message) || e) + '\n'))
;(async () => {
  const store = await Store.open(new FileAdapter(storeDir), { key: { password: process.env.VAULTDB_PASSPHRASE } })
  say('open')
  for await (const line of require('readline').createInterface({ input: process.stdin })) {
    const [op, p, v] = line.split(' ')
    try {
      if (op === 'update') await store.task().update(p, () => JSON.parse(v))
      else await store.task().remove(p)
      say('ok')
    } catch (e) {
      say('err ' + e.message)
    }
  }
})().catch((e) => { process.stderr.write(String(e.stack || e) + '\n'); process.exit(1) })
`

type staleRef struct {
	p  *proc
	in io.WriteCloser
}

func startStaleRef(t *testing.T, ref, dir string) *staleRef {
	t.Helper()
	js := filepath.Join(t.TempDir(), "stale.js")
	if err := os.WriteFile(js, []byte(staleRefJS), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", js, ref, dir)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &staleRef{p: start(t, "stale reference client", cmd), in: in}
	t.Cleanup(func() { in.Close() })
	r.next(t, 0)
	return r
}

// next waits for line n of the client's output and returns it.
func (r *staleRef) next(t *testing.T, n int) string {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		r.p.mu.Lock()
		lines := r.p.lines
		r.p.mu.Unlock()
		if len(lines) > n {
			return lines[n]
		}
		select {
		case <-r.p.done:
			t.Fatalf("the stale reference client ended: %v: %s", r.p.err, r.p.errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stale reference client gave no line %d within a minute: %s", n, r.p.errb.String())
		}
	}
}

// do runs one operation (the client's n-th, from 1) and returns its line.
func (r *staleRef) do(t *testing.T, n int, op string) string {
	t.Helper()
	if _, err := io.WriteString(r.in, op+"\n"); err != nil {
		t.Fatal(err)
	}
	return r.next(t, n)
}

// noSwitch fails the config's write: a migration killed just before its
// switch, after writing every file of its new layout.
type noSwitch struct{ adapters.Adapter }

func (a noSwitch) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if id == vault.ConfigBlob {
		return "", errors.New("killed before the switch")
	}
	return a.Adapter.Write(ctx, id, data, rev)
}

func setDocs(t *testing.T, dir string, docs map[string]string) {
	t.Helper()
	ctx := context.Background()
	s, err := vault.Open(ctx, localdir.New(dir, localdir.Options{}), []byte(passphrase), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := s.NewTask(ctx)
	for p, v := range docs {
		if err := task.Set(ctx, p, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReshardBackKeepsStaleReferenceWrites (red team item B): a reference
// client opened the store when it had 4 shards (a web page left open);
// the store moved to 7, and a move back to 4 wrote the 4-shard files and
// was killed before its switch. Those files are live for the reference
// client, which creates a document and removes one: both acknowledged.
// "vaultdb reshard --resume" stopped with "exists and is not part of this
// reshard: move it away and resume", and moving it away lost them. It
// must finish the move with both writes in the store, for the decoder, the
// reference and fsck.
func TestReshardBackKeepsStaleReferenceWrites(t *testing.T) {
	ref := reference(t)
	dir := newStore(t, 4)
	setDocs(t, dir, map[string]string{"/a/x": "1", "/b/c/y": "2", "/d/e": "3"})
	stale := startStaleRef(t, ref, dir)

	if code, out := vaultdbCLI(t, dir, "reshard", "7"); code != 0 {
		t.Fatalf("reshard 7: exit %d: %s", code, out)
	}
	ctx := context.Background()
	dying, err := vault.Open(ctx, noSwitch{localdir.New(dir, localdir.Options{})}, []byte(passphrase), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dying.Migrate(ctx, vault.MigrateOptions{Shards: 4}); err == nil {
		t.Fatal("the move back killed at its switch succeeded")
	}
	if l := stale.do(t, 1, `update /late/doc 42`); l != "ok" {
		t.Fatalf("the stale reference client's create: %s", l)
	}
	if l := stale.do(t, 2, `remove /b/c/y`); l != "ok" {
		t.Fatalf("the stale reference client's remove: %s", l)
	}

	if code, out := vaultdbCLI(t, dir, "reshard", "--resume"); code != 0 {
		t.Fatalf("reshard --resume: exit %d: %s", code, out)
	}
	st := decode(t, dir)
	if st.Shards != 4 || string(st.Docs["/late/doc"]) != "42" || st.Docs["/b/c/y"] != nil || string(st.Docs["/a/x"]) != "1" || len(st.Docs) != 3 {
		t.Fatalf("after the resume: %d shards, documents %v; want 4 shards, /a/x, /d/e and /late/doc=42", st.Shards, st.Docs)
	}
	if dump := refDump(t, ref, dir); string(dump["/late/doc"]) != "42" || len(dump) != 3 {
		t.Fatalf("the reference reads %v", dump)
	}
	if code, out := vaultdbCLI(t, dir, "fsck"); code != 0 {
		t.Fatalf("fsck after the resume: exit %d: %s", code, out)
	}
	engineCheck(t, dir)
}

// TestDeletedSealsAgainstReference (red team item A): a reference client
// and a vaultdb client both opened the store before "vaultdb reshard 7";
// the 4-shard files the move sealed are then deleted. The vaultdb client
// must refuse its next write (exit code 7's error, ErrMoved) and create
// nothing. The reference cannot be made to (it never reads the config
// again): its write is acknowledged and is not in the store, and fsck
// reports the missing seals and the file it wrote.
func TestDeletedSealsAgainstReference(t *testing.T) {
	ref := reference(t)
	dir := newStore(t, 4)
	setDocs(t, dir, map[string]string{"/a/x": "1", "/b/c/y": "2"})
	stale := startStaleRef(t, ref, dir)
	ctx := context.Background()
	old, err := vault.Open(ctx, localdir.New(dir, localdir.Options{}), []byte(passphrase), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}

	if code, out := vaultdbCLI(t, dir, "reshard", "7"); code != 0 {
		t.Fatalf("reshard 7: exit %d: %s", code, out)
	}
	four := format.NewRouter(nil, 4).BlobIDs()
	for _, id := range four {
		if err := os.Remove(filepath.Join(dir, id)); err != nil {
			t.Fatal(err)
		}
	}

	err = old.NewTask(ctx).Set(ctx, "/late/vaultdb", []byte("1"))
	if !errors.Is(err, vault.ErrMoved) || !strings.Contains(err.Error(), "from 4 to 7 shards") {
		t.Fatalf("the vaultdb client's write after the seals were deleted: %v, want ErrMoved naming the move", err)
	}
	for _, id := range four {
		if _, err := os.Stat(filepath.Join(dir, id)); err == nil {
			t.Errorf("the refused write created %s", id)
		}
	}

	if l := stale.do(t, 1, `update /late/ref 1`); l != "ok" {
		t.Fatalf("the stale reference client's write: %s", l)
	}
	if st := decode(t, dir); st.Shards != 7 || st.Docs["/late/ref"] != nil || len(st.Docs) != 2 {
		t.Fatalf("the store: %d shards, documents %v", st.Shards, st.Docs)
	}
	code, out := vaultdbCLI(t, dir, "fsck")
	if code == 0 || !strings.Contains(out, "missing-seal") || !strings.Contains(out, "retired-live") {
		t.Fatalf("fsck after the reference wrote into the old layout: exit %d: %s", code, out)
	}
}
