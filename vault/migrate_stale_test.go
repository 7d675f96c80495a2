package vault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault/format"
)

// stall holds the first request of one kind on one of the given blobs
// made after the migration sealed its claim, until released, like a
// migrating process stopped (a laptop put to sleep, a request hanging on a
// slow link) while others carry on.
type stall struct {
	adapters.Adapter
	write   bool     // hold a write, else a read
	blobs   []string // the blobs whose first request is held
	claim   string
	armed   atomic.Bool // the claim was written
	once    sync.Once
	paused  chan struct{}
	release chan struct{}
}

func newStall(a adapters.Adapter, write bool, blobs []string, claim string) *stall {
	return &stall{Adapter: a, write: write, blobs: blobs, claim: claim, paused: make(chan struct{}), release: make(chan struct{})}
}

func (s *stall) hold(write bool, id string) {
	if !s.armed.Load() || write != s.write || !slices.Contains(s.blobs, id) {
		return
	}
	held := false
	s.once.Do(func() { held = true })
	if held {
		close(s.paused)
		<-s.release
	}
}

func (s *stall) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	s.hold(false, id)
	return s.Adapter.Read(ctx, id)
}

func (s *stall) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	s.hold(true, id)
	rev, err := s.Adapter.Write(ctx, id, data, rev)
	if err == nil && id == s.claim {
		s.armed.Store(true)
	}
	return rev, err
}

// TestMigrateStalledRunAfterResumeAndMoveBack: a migration 4 -> 7 stops for
// a while after sealing its claim; the user resumes it from another
// process (as the error message says to), writes, moves the store back to
// 4 shards, and writes again. Then the stalled run wakes up. It must not
// act on a migration that is over: sealing a live shard of the new era
// leaves a store nobody can resume, and writing the 7-shard files from
// what it froze long ago and switching the config to them loses every
// write since.
func TestMigrateStalledRunAfterResumeAndMoveBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		write bool
		blobs []string
	}{
		// Between sealing and writing the new layout.
		{"stalled before writing the new layout", false, format.NewRouter(nil, 7).BlobIDs()},
		// While its seal of a shard other than the claim is on its way.
		{"stalled while sealing", true, format.NewRouter(nil, 4).BlobIDs()[2:3]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := memory.New()
			s := newStore(t, m, 4)
			want := fill(t, s, 40)
			st := newStall(m, tc.write, tc.blobs, s.BlobIDs()[0])
			stalled, err := Open(ctx, st, []byte("pass phrase"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := stalled.Migrate(ctx, MigrateOptions{Shards: 7})
				done <- err
			}()
			select {
			case <-st.paused:
			case err := <-done:
				t.Fatalf("the migration ended before the stall: %v", err)
			}

			open := func() *Store {
				t.Helper()
				s, err := Open(ctx, m, []byte("pass phrase"), Options{})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			set := func(p, v string) {
				t.Helper()
				if err := open().NewTask(ctx).Set(ctx, p, str(v)); err != nil {
					t.Fatalf("set %s: %v", p, err)
				}
				want[p] = fmt.Sprintf("%q", v)
			}
			if _, err := open().ResumeMigration(ctx, nil); err != nil {
				t.Fatalf("resume: %v", err)
			}
			set("/site1/user1/password", "written with 7 shards")
			set("/new7/doc", "created with 7 shards")
			if _, err := open().Migrate(ctx, MigrateOptions{Shards: 4}); err != nil {
				t.Fatalf("back to 4 shards: %v", err)
			}
			set("/site2/user2/password", "written with 4 shards")
			set("/new4/doc", "created with 4 shards")

			close(st.release)
			err = <-done
			t.Logf("the stalled run: %v", err)
			if !errors.Is(err, ErrOvertaken) {
				t.Errorf("the stalled run: %v, want ErrOvertaken (another run finished its migration and a later one moved the store back)", err)
			}
			checkContent(t, m, want, 4)
			for id, data := range m.Blobs() {
				if seal, _, _ := format.ParseSealed(id, data); seal != nil && slices.Contains(s.BlobIDs(), id) {
					t.Errorf("%s, a shard of the live layout, is sealed by %+v", id, seal)
				}
			}
			if res, err := open().ResumeMigration(ctx, nil); err != nil || res != nil {
				t.Errorf("resume afterwards: %+v, %v; want nothing to do", res, err)
			}
			checkContent(t, m, want, 4)
		})
	}
}
