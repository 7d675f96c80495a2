package localdir_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/localdir"
)

func TestContract(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return localdir.New(filepath.Join(t.TempDir(), "store"), localdir.Options{})
	})
}

// TestContractTwoInstances runs the contract with every request alternating
// between two Dirs on the same directory, so that writers exclude each other
// through flock rather than the in-process lock.
func TestContractTwoInstances(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		dir := filepath.Join(t.TempDir(), "store")
		return &alternate{a: []adapters.Adapter{
			localdir.New(dir, localdir.Options{}),
			localdir.New(dir, localdir.Options{}),
		}}
	})
}

type alternate struct {
	mu sync.Mutex
	n  int
	a  []adapters.Adapter
}

func (x *alternate) next() adapters.Adapter {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.n++
	return x.a[x.n%len(x.a)]
}

func (x *alternate) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	return x.next().Read(ctx, id)
}

func (x *alternate) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	return x.next().Write(ctx, id, data, rev)
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", path, got, want)
	}
}

// names returns the names in dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, e := range entries {
		s = append(s, e.Name())
	}
	return s
}

func TestModes(t *testing.T) {
	// The store must not rely on the user's umask being strict.
	old := unix.Umask(0)
	defer unix.Umask(old)

	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "store")
	d := localdir.New(dir, localdir.Options{})
	rev, err := d.Write(context.Background(), "config", []byte("secret"), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write(context.Background(), "config", []byte("secret 2"), rev); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b"), dir} {
		wantMode(t, p, 0o700)
	}
	wantMode(t, filepath.Join(dir, "config"), 0o600)
	wantMode(t, filepath.Join(dir, ".lock-config"), 0o600)
}

func TestNoTempFilesLeft(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	d := localdir.New(dir, localdir.Options{})
	ctx := context.Background()
	revs := map[string]adapters.Rev{}
	for i := range 20 {
		id := fmt.Sprintf("shard-%d", i%3)
		rev, err := d.Write(ctx, id, fmt.Appendf(nil, "v%d", i), revs[id])
		if err != nil {
			t.Fatal(err)
		}
		revs[id] = rev
		// A conflicting write must not leave anything behind either.
		if _, err := d.Write(ctx, id, []byte("x"), adapters.NoRev); !errors.Is(err, adapters.ErrConflict) {
			t.Fatalf("got %v, want conflict", err)
		}
	}
	for _, name := range names(t, dir) {
		if strings.HasPrefix(name, ".tmp-") || strings.HasSuffix(name, ".lock") {
			t.Errorf("file %s left behind", name)
		}
	}
}

func TestInvalidIDs(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "store")
	d := localdir.New(dir, localdir.Options{})
	ctx := context.Background()
	for _, id := range []string{"", ".lock-x", "../escape", "a/b", "Config", "a b", "a.b", "\x00"} {
		if _, _, err := d.Read(ctx, id); err == nil || errors.Is(err, adapters.ErrNotFound) || adapters.IsRetryable(err) {
			t.Errorf("Read(%q) = %v, want a permanent error", id, err)
		}
		if _, err := d.Write(ctx, id, []byte("x"), adapters.NoRev); err == nil ||
			errors.Is(err, adapters.ErrConflict) || adapters.IsRetryable(err) {
			t.Errorf("Write(%q) = %v, want a permanent error", id, err)
		}
	}
	if got := names(t, root); len(got) != 0 {
		t.Errorf("invalid writes created %q", got)
	}
}

func TestMissingParent(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "no", "such", "store")
	d := localdir.New(dir, localdir.Options{})
	if _, _, err := d.Read(context.Background(), "config"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("Read from a store that does not exist yet: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(root, "no")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a read created directories: %v", err)
	}
	rev, err := d.Write(context.Background(), "config", []byte("c"), adapters.NoRev)
	if err != nil {
		t.Fatalf("first write must create the store directory: %v", err)
	}
	data, got, err := d.Read(context.Background(), "config")
	if err != nil || got != rev || string(data) != "c" {
		t.Fatalf("Read = %q, %q, %v", data, got, err)
	}
}

func TestParentIsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "store")} {
		d := localdir.New(dir, localdir.Options{})
		_, err := d.Write(context.Background(), "config", []byte("c"), adapters.NoRev)
		if err == nil || errors.Is(err, adapters.ErrConflict) || adapters.IsRetryable(err) {
			t.Fatalf("Write into %s: %v, want a permanent error", dir, err)
		}
		if !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("error %q does not say the path is not a directory", err)
		}
	}
}

func TestReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; TestMapError covers the mapping")
	}
	dir := t.TempDir()
	d := localdir.New(dir, localdir.Options{})
	rev, err := d.Write(context.Background(), "config", []byte("c"), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	for _, id := range []string{"config", "new"} {
		_, err = d.Write(context.Background(), id, []byte("c2"), rev)
		if err == nil || errors.Is(err, adapters.ErrConflict) || adapters.IsRetryable(err) {
			t.Fatalf("Write(%s) to a read-only directory: %v, want a permanent error", id, err)
		}
		if !strings.Contains(err.Error(), "permission denied on the store directory") {
			t.Errorf("error %q does not say permission was denied", err)
		}
	}
}

// The helper process: the test binary re-executed with helperEnv set.
const (
	helperEnv = "VAULTDB_LOCALDIR_HELPER"
	dirEnv    = "VAULTDB_LOCALDIR_DIR"
)

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	dir := os.Getenv(dirEnv)
	var err error
	switch mode {
	case "lock":
		err = holdLock(dir)
	case "writeloop":
		err = writeLoop(dir)
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}

// holdLock takes the lock of blob "config" the way Dir does, reports it on
// stdout, and waits to be killed.
func holdLock(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, ".lock-config"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	fmt.Println("locked")
	time.Sleep(time.Hour)
	return errors.New("not killed")
}

// writeLoop overwrites blob "config" with verifiable content until killed,
// reporting each completed write on stdout.
func writeLoop(dir string) error {
	d := localdir.New(dir, localdir.Options{})
	ctx := context.Background()
	_, rev, err := d.Read(ctx, "config")
	if err != nil && !errors.Is(err, adapters.ErrNotFound) {
		return err
	}
	for i := uint64(1); ; i++ {
		rev, err = d.Write(ctx, "config", verifiable(i), rev)
		if err != nil {
			return err
		}
		fmt.Println(i)
	}
}

const header = "vaultdb crash test\n"

// verifiable returns content for version i: a header, the version, a
// payload whose length varies with i, and the SHA-256 of all of it.
func verifiable(i uint64) []byte {
	r := rand.New(rand.NewPCG(i, 0))
	b := binary.BigEndian.AppendUint64([]byte(header), i)
	payload := make([]byte, 64<<10+r.IntN(192<<10))
	for j := range payload {
		payload[j] = byte(r.Uint32())
	}
	b = append(b, payload...)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// checkVerifiable returns the version of content made by verifiable, or an
// error if it is torn.
func checkVerifiable(b []byte) (uint64, error) {
	n := len(header) + 8 + sha256.Size
	if len(b) < n || !bytes.HasPrefix(b, []byte(header)) {
		return 0, fmt.Errorf("torn blob: %d bytes, bad header", len(b))
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return 0, fmt.Errorf("torn blob: %d bytes, checksum mismatch", len(b))
	}
	return binary.BigEndian.Uint64(b[len(header):]), nil
}

// startHelper starts the helper in mode on dir and returns it with its
// stdout.
func startHelper(t *testing.T, mode, dir string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, dirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewReader(out)
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Wait reaps the process; by then the kernel has closed its files and
	// dropped its locks.
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper did not die of SIGKILL: %v", err)
	}
}

func TestKilledLockHolder(t *testing.T) {
	dir := t.TempDir()
	cmd, out := startHelper(t, "lock", dir)
	if line, err := out.ReadString('\n'); line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	// While the holder lives, writers wait for it and then give up.
	d := localdir.New(dir, localdir.Options{LockTimeout: 50 * time.Millisecond})
	_, err := d.Write(context.Background(), "config", []byte("c"), adapters.NoRev)
	if !errors.Is(err, adapters.ErrTransient) || !strings.Contains(err.Error(), "another vaultdb process holds the lock") {
		t.Fatalf("Write while another process holds the lock: %v, want a transient lock error", err)
	}
	// A context that ends first wins over the lock timeout.
	d = localdir.New(dir, localdir.Options{LockTimeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := d.Write(ctx, "config", []byte("c"), adapters.NoRev); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write with a context ending while waiting for the lock: %v", err)
	}
	// Other blobs are not blocked.
	if _, err := d.Write(context.Background(), "other", []byte("o"), adapters.NoRev); err != nil {
		t.Fatal(err)
	}

	kill(t, cmd)

	// The lock died with its holder: with a timeout far beyond the test's
	// run time the write would hang visibly if it did not.
	if _, err := d.Write(context.Background(), "config", []byte("c"), adapters.NoRev); err != nil {
		t.Fatalf("Write after the lock holder was killed: %v", err)
	}
}

func TestKilledWriter(t *testing.T) {
	dir := t.TempDir()
	d := localdir.New(dir, localdir.Options{})
	ctx := context.Background()
	for round, writes := range []int{1, 3, 7, 12} {
		cmd, out := startHelper(t, "writeloop", dir)
		// Let it complete some writes, then kill it at an arbitrary point of
		// the next one.
		for range writes {
			if _, err := out.ReadString('\n'); err != nil {
				t.Fatalf("round %d: helper stopped: %v", round, err)
			}
		}
		kill(t, cmd)
		for _, name := range names(t, dir) {
			if strings.HasSuffix(name, ".lock") {
				t.Logf("round %d: killed mid-write, %s left behind", round, name)
			}
		}

		data, rev, err := d.Read(ctx, "config")
		if err != nil {
			t.Fatal(err)
		}
		v, err := checkVerifiable(data)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if v < uint64(writes) {
			t.Fatalf("round %d: blob holds version %d, but %d writes were reported", round, v, writes)
		}

		// Nothing the dead writer left blocks the next writer (at once: the
		// lock timeout is far beyond the test's run time), which also
		// removes the lock file it may have left.
		start := time.Now()
		if _, err := d.Write(ctx, "config", verifiable(0), rev); err != nil {
			t.Fatalf("round %d: write after the writer was killed: %v", round, err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("round %d: the write after the kill took %s", round, el)
		}
		for _, name := range names(t, dir) {
			if strings.HasSuffix(name, ".lock") || strings.HasPrefix(name, ".tmp-") {
				t.Fatalf("round %d: %s survived the next write", round, name)
			}
		}
	}
}

// TestList: the blobs written, whatever the directory order, and none of
// the lock files, directories or links beside them.
func TestList(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	d := localdir.New(dir, localdir.Options{})
	if ids, err := d.List(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("List of a missing directory = %q, %v; want nothing", ids, err)
	}
	want := []string{"a", "config", "shard-0000-7fff", "shard-8000-ffff"}
	for _, id := range want {
		if _, err := d.Write(ctx, id, []byte(id), adapters.NoRev); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "shard-0000-0fff"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(dir, "shard-1000-1fff")); err != nil {
		t.Fatal(err)
	}
	ids, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, want) {
		t.Errorf("List = %q, want %q (lock files .lock-<id> beside them: %v)", ids, want, fileExists(filepath.Join(dir, ".lock-a")))
	}
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
