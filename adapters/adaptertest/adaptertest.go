// Package adaptertest is the contract test suite every blob store adapter
// must pass. Run it from each adapter's tests:
//
//	func TestContract(t *testing.T) {
//		adaptertest.Run(t, func(t *testing.T) adapters.Adapter { return memory.New() })
//	}
//
// newAdapter is called once per subtest and must return an empty store.
package adaptertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vaultdb/vaultdb/adapters"
)

// Run runs the contract tests against the stores newAdapter returns.
func Run(t *testing.T, newAdapter func(t *testing.T) adapters.Adapter) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a adapters.Adapter)
	}{
		{"ReadMissing", testReadMissing},
		{"Create", testCreate},
		{"CreateExisting", testCreateExisting},
		{"StaleRev", testStaleRev},
		{"RevOnMissingBlob", testRevOnMissingBlob},
		{"Update", testUpdate},
		{"DistinctRevs", testDistinctRevs},
		{"EmptyBlob", testEmptyBlob},
		{"LargeBlob", testLargeBlob},
		{"BuffersNotRetained", testBuffersNotRetained},
		{"RacingWriters", testRacingWriters},
		{"ReadsDuringWrites", testReadsDuringWrites},
		{"CancelledContext", testCancelledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newAdapter(t))
		})
	}
}

const blobID = "shard-0000-7fff"

func mustWrite(t *testing.T, a adapters.Adapter, id string, data []byte, rev adapters.Rev) adapters.Rev {
	t.Helper()
	newRev, err := a.Write(context.Background(), id, data, rev)
	if err != nil {
		t.Fatalf("Write(%q, rev %q): %v", id, rev, err)
	}
	if newRev == adapters.NoRev {
		t.Fatalf("Write(%q) returned NoRev", id)
	}
	return newRev
}

// wantContent checks that blob id holds exactly data at revision rev.
func wantContent(t *testing.T, a adapters.Adapter, id string, data []byte, rev adapters.Rev) {
	t.Helper()
	got, gotRev, err := a.Read(context.Background(), id)
	if err != nil {
		t.Fatalf("Read(%q): %v", id, err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("Read(%q) = %d bytes %.40q, want %d bytes %.40q", id, len(got), got, len(data), data)
	}
	if gotRev != rev {
		t.Fatalf("Read(%q) rev = %q, want %q", id, gotRev, rev)
	}
}

func wantConflict(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, adapters.ErrConflict) {
		t.Fatalf("got error %v, want one matching ErrConflict", err)
	}
}

func testReadMissing(t *testing.T, a adapters.Adapter) {
	data, rev, err := a.Read(context.Background(), blobID)
	if !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("Read of missing blob: err = %v, want ErrNotFound", err)
	}
	if data != nil || rev != adapters.NoRev {
		t.Errorf("Read of missing blob returned data %q, rev %q", data, rev)
	}
}

func testCreate(t *testing.T, a adapters.Adapter) {
	rev := mustWrite(t, a, blobID, []byte("hello"), adapters.NoRev)
	wantContent(t, a, blobID, []byte("hello"), rev)
}

func testCreateExisting(t *testing.T, a adapters.Adapter) {
	rev := mustWrite(t, a, blobID, []byte("first"), adapters.NoRev)
	_, err := a.Write(context.Background(), blobID, []byte("second"), adapters.NoRev)
	wantConflict(t, err)
	wantContent(t, a, blobID, []byte("first"), rev)
}

func testStaleRev(t *testing.T, a adapters.Adapter) {
	r1 := mustWrite(t, a, blobID, []byte("v1"), adapters.NoRev)
	r2 := mustWrite(t, a, blobID, []byte("v2"), r1)
	_, err := a.Write(context.Background(), blobID, []byte("v3"), r1)
	wantConflict(t, err)
	wantContent(t, a, blobID, []byte("v2"), r2)

	_, err = a.Write(context.Background(), blobID, []byte("v3"), adapters.Rev("no-such-revision"))
	wantConflict(t, err)
	wantContent(t, a, blobID, []byte("v2"), r2)
}

func testRevOnMissingBlob(t *testing.T, a adapters.Adapter) {
	r1 := mustWrite(t, a, "other", []byte("v1"), adapters.NoRev)
	_, err := a.Write(context.Background(), blobID, []byte("v1"), r1)
	wantConflict(t, err)
	if _, _, err := a.Read(context.Background(), blobID); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("blob written by a conflicting write: Read err = %v", err)
	}
}

func testUpdate(t *testing.T, a adapters.Adapter) {
	r1 := mustWrite(t, a, blobID, []byte("old content"), adapters.NoRev)
	r2 := mustWrite(t, a, blobID, []byte("new"), r1)
	if r2 == r1 {
		t.Fatalf("rev did not change on update: %q", r2)
	}
	wantContent(t, a, blobID, []byte("new"), r2)
	// Other blobs are independent.
	r3 := mustWrite(t, a, "config", []byte("config"), adapters.NoRev)
	wantContent(t, a, "config", []byte("config"), r3)
	wantContent(t, a, blobID, []byte("new"), r2)
}

func testDistinctRevs(t *testing.T, a adapters.Adapter) {
	seen := make(map[adapters.Rev]int)
	rev := adapters.NoRev
	for i := range 10 {
		rev = mustWrite(t, a, blobID, fmt.Appendf(nil, "content %d", i), rev)
		if j, ok := seen[rev]; ok {
			t.Fatalf("write %d of new content returned the rev of write %d: %q", i, j, rev)
		}
		seen[rev] = i
	}
}

func testEmptyBlob(t *testing.T, a adapters.Adapter) {
	rev := mustWrite(t, a, blobID, []byte{}, adapters.NoRev)
	wantContent(t, a, blobID, []byte{}, rev)
	// An empty blob exists: creating it again conflicts.
	_, err := a.Write(context.Background(), blobID, nil, adapters.NoRev)
	wantConflict(t, err)
	r2 := mustWrite(t, a, blobID, []byte("x"), rev)
	r3 := mustWrite(t, a, blobID, nil, r2)
	wantContent(t, a, blobID, []byte{}, r3)
}

func testLargeBlob(t *testing.T, a adapters.Adapter) {
	data := make([]byte, 1<<20)
	for i := range data {
		// Every byte value, in an order that does not repeat every 256
		// bytes, so a shifted or truncated copy is caught.
		data[i] = byte(i ^ i>>8 ^ i>>16)
	}
	rev := mustWrite(t, a, blobID, data, adapters.NoRev)
	wantContent(t, a, blobID, data, rev)
}

func testBuffersNotRetained(t *testing.T, a adapters.Adapter) {
	data := []byte("original")
	rev := mustWrite(t, a, blobID, data, adapters.NoRev)
	copy(data, "CHANGED!")
	wantContent(t, a, blobID, []byte("original"), rev)
	got, _, err := a.Read(context.Background(), blobID)
	if err != nil {
		t.Fatal(err)
	}
	copy(got, "CHANGED!")
	wantContent(t, a, blobID, []byte("original"), rev)
}

func testRacingWriters(t *testing.T, a adapters.Adapter) {
	const writers = 16
	base := mustWrite(t, a, blobID, []byte("base"), adapters.NoRev)

	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		revs    [writers]adapters.Rev
		errs    [writers]error
		content = func(i int) []byte { return fmt.Appendf(nil, "writer %d", i) }
	)
	for i := range writers {
		wg.Go(func() {
			<-start
			revs[i], errs[i] = a.Write(context.Background(), blobID, content(i), base)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both succeeded with the same expected rev", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, adapters.ErrConflict):
			t.Fatalf("writer %d: got %v, want success or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	wantContent(t, a, blobID, content(winner), revs[winner])
}

func testReadsDuringWrites(t *testing.T, a adapters.Adapter) {
	const (
		versions = 30
		readers  = 4
		size     = 64 << 10
	)
	// Versions differ in every byte and in length, so any mix of two of them
	// is recognisable.
	contents := make([][]byte, versions)
	valid := make(map[[32]byte]bool)
	for i := range contents {
		contents[i] = bytes.Repeat([]byte{byte('a' + i%26)}, size+i)
		valid[sha256.Sum256(contents[i])] = true
	}
	rev := mustWrite(t, a, blobID, contents[0], adapters.NoRev)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, readers)
	for range readers {
		wg.Go(func() {
			for ctx.Err() == nil {
				data, _, err := a.Read(context.Background(), blobID)
				if err != nil {
					errc <- fmt.Errorf("read during writes: %w", err)
					return
				}
				if !valid[sha256.Sum256(data)] {
					errc <- fmt.Errorf("read a torn blob of %d bytes", len(data))
					return
				}
			}
		})
	}
	for i := 1; i < versions; i++ {
		var err error
		rev, err = a.Write(context.Background(), blobID, contents[i], rev)
		if err != nil {
			cancel()
			wg.Wait()
			t.Fatalf("write %d: %v", i, err)
		}
	}
	cancel()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	wantContent(t, a, blobID, contents[versions-1], rev)
}

func testCancelledContext(t *testing.T, a adapters.Adapter) {
	rev := mustWrite(t, a, blobID, []byte("v1"), adapters.NoRev)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := a.Read(ctx, blobID); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with cancelled context: err = %v, want context.Canceled", err)
	}
	if _, err := a.Write(ctx, blobID, []byte("v2"), rev); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with cancelled context: err = %v, want context.Canceled", err)
	}
	if _, err := a.Write(ctx, "new-blob", []byte("v1"), adapters.NoRev); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with cancelled context: err = %v, want context.Canceled", err)
	}
}
