package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lsnapshot is snapshot for a directory that may hold hostile files: it
// never follows, opens or reads anything that is not a regular file, and
// records what each entry is.
func lsnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(e.Name(), ".lock-") && fi.Mode().IsRegular():
			continue // empty, created by the first write attempt of a blob
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[e.Name()] = "symlink to " + target
		case !fi.Mode().IsRegular():
			out[e.Name()] = fi.Mode().Type().String()
		case fi.Size() > 1<<20:
			out[e.Name()] = fmt.Sprintf("%d bytes", fi.Size())
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = string(data)
		}
	}
	return out
}

// runBounded runs vaultdb like store.run, but kills it after limit and
// reports its peak memory (maximum resident set size, KiB).
func (s *store) runBounded(limit time.Duration, stdin string, args ...string) (result, int64) {
	s.t.Helper()
	c := exec.Command(bin, append([]string{"--store", s.dir}, args...)...)
	c.Env = s.env
	c.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		s.t.Fatal(err)
	}
	stopRSS := watchRSS(c.Process.Pid)
	timer := time.AfterFunc(limit, func() { c.Process.Kill() })
	err := c.Wait()
	peak := stopRSS()
	if !timer.Stop() {
		s.t.Fatalf("vaultdb %s did not finish within %s", strings.Join(args, " "), limit)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("running vaultdb: %v", err)
	}
	return result{code, out.String(), errOut.String()}, peak / 1024
}

// TestHostileStoreFiles is the bad-input matrix of issue 12 points 3 and
// 5: store files replaced by what a hostile user or a broken sync can put
// there. Each case: the exact hostile input, the clear error naming the
// file, the store unchanged, the command done within 10 s and 200 MiB.
func TestHostileStoreFiles(t *testing.T) {
	t.Parallel()
	type tc struct {
		name  string
		plant func(t *testing.T, d *docStore) // before the snapshot
		stdin string
		args  func(d *docStore) []string
		code  int
		// errSub is expected in stderr; the hostile file's path is too.
		errSub string
		file   func(d *docStore) string
		after  func(t *testing.T, d *docStore)
	}
	shardA := func(d *docStore) string { return filepath.Join(d.dir, d.blobA) }
	config := func(d *docStore) string { return filepath.Join(d.dir, "config") }
	replace := func(t *testing.T, path string, make func(string) error) {
		t.Helper()
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := make(path); err != nil {
			t.Fatal(err)
		}
	}
	cases := []tc{
		{name: "shard is a symlink to /dev/zero",
			plant: func(t *testing.T, d *docStore) {
				replace(t, shardA(d), func(p string) error { return os.Symlink("/dev/zero", p) })
			},
			args: func(d *docStore) []string { return []string{"get", d.a1} }, code: 1,
			errSub: "it is a symbolic link", file: shardA,
			after: func(t *testing.T, d *docStore) {
				check(t, d.run("", nil, "get", d.b), 0, "value of "+d.b+"\n", "")
			}},
		{name: "config is a FIFO",
			plant: func(t *testing.T, d *docStore) {
				replace(t, config(d), func(p string) error { return unix.Mkfifo(p, 0o600) })
			},
			args: func(*docStore) []string { return []string{"ls"} }, code: 1,
			errSub: "it is a named pipe (FIFO)", file: config},
		{name: "config of 1 GiB",
			plant: func(t *testing.T, d *docStore) {
				// Sparse: no disk space used, but 1 GiB to read.
				if err := os.Truncate(config(d), 1<<30); err != nil {
					t.Fatal(err)
				}
			},
			args: func(*docStore) []string { return []string{"ls"} }, code: 1,
			errSub: "is 1073741824 bytes: blob larger than the limit of 64 MiB", file: config},
		{name: "shard of 200 MB of newlines",
			plant: func(t *testing.T, d *docStore) {
				f, err := os.OpenFile(shardA(d), os.O_WRONLY|os.O_TRUNC, 0)
				if err != nil {
					t.Fatal(err)
				}
				nl := bytes.Repeat([]byte("\n"), 1<<20)
				for range 200 {
					f.Write(nl)
				}
				f.Close()
			},
			args: func(d *docStore) []string { return []string{"get", d.a1} }, code: 1,
			errSub: "blob larger than the limit of 64 MiB", file: shardA},
		{name: "lock file planted as a symlink",
			plant: func(t *testing.T, d *docStore) {
				lock := filepath.Join(d.dir, ".lock-"+d.blobA)
				os.Remove(lock)
				// Where another user would have the victim create a file.
				if err := os.Symlink(filepath.Join(d.dir, "victim"), lock); err != nil {
					t.Fatal(err)
				}
			},
			stdin: "new", args: func(d *docStore) []string { return []string{"set", "-f", d.a1} }, code: 1,
			errSub: "it is a symbolic link", file: func(d *docStore) string { return filepath.Join(d.dir, ".lock-"+d.blobA) },
			after: func(t *testing.T, d *docStore) {
				if _, err := os.Lstat(filepath.Join(d.dir, "victim")); err == nil {
					t.Error("the symlink was followed: victim was created")
				}
				check(t, d.run("", nil, "get", d.a1), 0, "value of "+d.a1+"\n", "")
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDocStore(t)
			c.plant(t, d)
			before := lsnapshot(t, d.dir)
			r, rss := d.runBounded(10*time.Second, c.stdin, c.args(d)...)
			check(t, r, c.code, "", c.errSub)
			if f := c.file(d); !strings.Contains(r.errOut, f) {
				t.Errorf("stderr %q does not name %s", r.errOut, f)
			}
			if rss > 200<<10 {
				t.Errorf("vaultdb used %d MiB", rss>>10)
			}
			if c.after != nil {
				c.after(t, d)
			}
			after := lsnapshot(t, d.dir)
			for k, v := range before {
				if after[k] != v {
					t.Errorf("store file %s changed", k)
				}
			}
			for k := range after {
				if _, ok := before[k]; !ok {
					t.Errorf("store file %s appeared", k)
				}
			}
		})
	}
}

// TestUnsafeStoreDirectory: a store directory others can write works, with
// one warning per command on stderr (like ssh about ~/.ssh); a private one
// gets none.
func TestUnsafeStoreDirectory(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	r := s.run("v", nil, "set", "a")
	check(t, r, 0, "", "")
	if r.errOut != "" {
		t.Errorf("private store directory: stderr %q", r.errOut)
	}
	if err := os.Chmod(s.dir, 0o777); err != nil {
		t.Fatal(err)
	}
	r = s.run("", nil, "get", "a")
	check(t, r, 0, "v\n", "warning: the store directory "+s.dir+" is writable by other users (mode 0777)")
	if n := strings.Count(r.errOut, "warning:"); n != 1 {
		t.Errorf("%d warnings: %q", n, r.errOut)
	}
}
