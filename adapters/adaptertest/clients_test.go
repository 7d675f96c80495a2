package adaptertest_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/faulty"
	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault"
)

// The multi-client engine suite on the in-process stores; the Dropbox
// and remoteStorage packages run it on their servers.

// TestClientsMemory: four clients on one in-memory store (one adapter, as
// goroutines of one process share it), the invariant checked on a
// snapshot after every task while the others run.
func TestClientsMemory(t *testing.T) {
	t.Parallel()
	for _, shards := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(shards, "shards"), func(t *testing.T) {
			t.Parallel()
			m := memory.New()
			adaptertest.RunClients(t, adaptertest.Clients{
				Client:  func(*testing.T, int) adapters.Adapter { return m },
				Blobs:   func(*testing.T) map[string][]byte { return m.Blobs() },
				Clients: 4, Shards: shards, Tasks: 40, Seed: uint64(shards),
				Options: vault.Options{Backoff: time.Millisecond}, Snapshots: true,
			})
		})
	}
}

// TestClientsFaults: each client's reads and writes fail at random, before
// or after they land, or conflict.
func TestClientsFaults(t *testing.T) {
	t.Parallel()
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprint(shards, "shards"), func(t *testing.T) {
			t.Parallel()
			m := memory.New()
			var mu sync.Mutex
			var fs []*faulty.Adapter
			adaptertest.RunClients(t, adaptertest.Clients{
				Client: func(_ *testing.T, c int) adapters.Adapter {
					if c < 0 {
						return m
					}
					f := faulty.New(m, faulty.Options{Seed: uint64(100*shards + c),
						ReadError: 0.05, WriteErrorBefore: 0.08, WriteErrorAfter: 0.08, WriteConflict: 0.08})
					mu.Lock()
					fs = append(fs, f)
					mu.Unlock()
					return f
				},
				Blobs:   func(*testing.T) map[string][]byte { return m.Blobs() },
				Clients: 4, Shards: shards, Tasks: 40, Seed: uint64(shards) + 7,
				Options: vault.Options{Backoff: time.Millisecond}, Snapshots: true,
				Expected: func(err error) bool {
					return errors.Is(err, faulty.ErrInjected) || errors.Is(err, vault.ErrTooManyConflicts)
				},
			})
			injected := 0
			for _, f := range fs {
				injected += f.Counts().Injected()
			}
			if injected == 0 {
				t.Fatal("no fault was injected")
			}
		})
	}
}

// TestClientsLocalDir: one adapter per client on one directory, as
// separate processes would have.
func TestClientsLocalDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	adaptertest.RunClients(t, adaptertest.Clients{
		Client: func(*testing.T, int) adapters.Adapter { return localdir.New(dir, localdir.Options{}) },
		Blobs: func(t *testing.T) map[string][]byte {
			blobs := map[string][]byte{}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if !strings.HasPrefix(e.Name(), ".") && !strings.HasSuffix(e.Name(), ".lock") {
					if blobs[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
						t.Fatal(err)
					}
				}
			}
			return blobs
		},
		Clients: 4, Shards: 3, Tasks: 25, Seed: 42,
		Options: vault.Options{Backoff: time.Millisecond},
	})
}
