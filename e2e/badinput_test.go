package e2e

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/vault"
)

// snapshot returns the content of every file in dir but the lock files
// (empty, created on the first write attempt of each blob).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return out
		}
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".lock-") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(data)
	}
	return out
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
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
}

// docStore is a store with documents spread over its two shards: two in
// shard a (a1, a2) and one in shard b.
type docStore struct {
	*store
	a1, a2, b    string // document paths
	blobA, blobB string
}

func newDocStore(t *testing.T) *docStore {
	t.Helper()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000", "--shards", "2")
	st, err := vault.Open(context.Background(), localdir.New(s.dir, localdir.Options{}), []byte("pw"), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := &docStore{store: s}
	blobs := st.BlobIDs()
	d.blobA, d.blobB = blobs[0], blobs[1]
	for i := 0; d.a1 == "" || d.a2 == "" || d.b == ""; i++ {
		p := "/doc" + string(rune('a'+i))
		switch {
		case st.ShardOf(p) == d.blobA && st.ShardOf("/") == d.blobB && d.a1 == "":
			d.a1 = p
		case st.ShardOf(p) == d.blobA && d.a1 == "":
			d.a1 = p
		case st.ShardOf(p) == d.blobA && d.a2 == "":
			d.a2 = p
		case st.ShardOf(p) == d.blobB && d.b == "":
			d.b = p
		default:
			continue
		}
		s.must("value of "+p, "set", p)
	}
	return d
}

// damage rewrites a store file with fn.
func (d *docStore) damage(t *testing.T, name string, fn func(string) string) {
	t.Helper()
	f := filepath.Join(d.dir, name)
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(fn(string(data))), 0o600); err != nil {
		t.Fatal(err)
	}
}

// itemLine returns the index of the line of document p in shard blob.
func (d *docStore) itemLine(t *testing.T, blob, p string) int {
	t.Helper()
	// The index is sorted; documents of this store are top-level names,
	// and "/" sorts first. Count the paths of the shard below p.
	st, err := vault.Open(context.Background(), localdir.New(d.dir, localdir.Options{}), []byte("pw"), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, q := range []string{"/", d.a1, d.a2, d.b} {
		if st.ShardOf(q) == blob {
			paths = append(paths, q)
		}
	}
	n := 0
	for _, q := range paths {
		if q < p {
			n++
		}
	}
	return 2 + n
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	type tc struct {
		name   string
		damage func(t *testing.T, d *docStore) // before the snapshot
		stdin  string
		env    []string
		args   func(d *docStore) []string
		code   int
		errSub func(d *docStore) string
		after  func(t *testing.T, d *docStore) // more checks
	}
	fixed := func(s string) func(*docStore) string { return func(*docStore) string { return s } }
	argv := func(a ...string) func(*docStore) []string { return func(*docStore) []string { return a } }
	flipItem := func(t *testing.T, d *docStore) {
		n := d.itemLine(t, d.blobA, d.a1)
		d.damage(t, d.blobA, func(s string) string {
			lines := strings.Split(s, "\n")
			b := []byte(lines[n])
			if b[len(b)/2] == 'A' {
				b[len(b)/2] = 'B'
			} else {
				b[len(b)/2] = 'A'
			}
			lines[n] = string(b)
			return strings.Join(lines, "\n")
		})
	}
	readsOther := func(t *testing.T, d *docStore) {
		check(t, d.run("", nil, "get", d.a2), 0, "value of "+d.a2+"\n", "")
		check(t, d.run("", nil, "get", d.b), 0, "value of "+d.b+"\n", "")
	}
	cases := []tc{
		{name: "wrong passphrase get", env: []string{"VAULTDB_PASSPHRASE=wrong"},
			args: func(d *docStore) []string { return []string{"get", d.a1} }, code: 4, errSub: fixed("incorrect passphrase")},
		{name: "wrong passphrase set", stdin: "x", env: []string{"VAULTDB_PASSPHRASE=wrong"},
			args: func(d *docStore) []string { return []string{"set", d.a1} }, code: 4, errSub: fixed("incorrect passphrase")},
		{name: "config missing", damage: func(t *testing.T, d *docStore) { os.Remove(filepath.Join(d.dir, "config")) },
			args: argv("ls"), code: 5, errSub: fixed("no store at")},
		{name: "config truncated", damage: func(t *testing.T, d *docStore) {
			d.damage(t, "config", func(s string) string { return s[:len(s)/2] })
		}, args: argv("ls"), code: 1, errSub: fixed("config is not JSON")},
		{name: "config not JSON", damage: func(t *testing.T, d *docStore) {
			d.damage(t, "config", func(string) string { return "hello\n" })
		}, args: argv("ls"), code: 1, errSub: fixed("config is not JSON")},
		{name: "config unknown version", damage: func(t *testing.T, d *docStore) {
			d.damage(t, "config", func(s string) string { return strings.Replace(s, `"version": 1`, `"version": 7`, 1) })
		}, args: argv("ls"), code: 1, errSub: fixed("unsupported format version 7")},
		{name: "shard truncated", damage: func(t *testing.T, d *docStore) {
			d.damage(t, d.blobA, func(s string) string { return s[:len(s)*2/3] })
		}, args: func(d *docStore) []string { return []string{"get", d.a1} }, code: 1,
			errSub: func(d *docStore) string { return "shard " + d.blobA + " is damaged" },
			after: func(t *testing.T, d *docStore) {
				check(t, d.run("", nil, "get", d.b), 0, "value of "+d.b+"\n", "")
			}},
		{name: "flipped byte in one item", damage: flipItem,
			args: func(d *docStore) []string { return []string{"get", d.a1} }, code: 1,
			errSub: func(d *docStore) string { return "shard " + d.blobA + " is damaged" },
			after:  readsOther},
		{name: "fsck reports the flipped item", damage: flipItem, args: argv("fsck", "--repair"), code: 8,
			errSub: fixed("1 problem remains"),
			after: func(t *testing.T, d *docStore) {
				r := d.run("", nil, "fsck")
				if !strings.Contains(r.out, "unreadable-item "+d.blobA+" "+d.a1) {
					t.Errorf("fsck output: %s", r.out)
				}
				readsOther(t, d)
			}},
		{name: "shard line deleted", damage: func(t *testing.T, d *docStore) {
			d.damage(t, d.blobA, func(s string) string { return s[:strings.LastIndex(s, "\n")] })
		}, args: func(d *docStore) []string { return []string{"get", d.a1} }, code: 1,
			errSub: func(d *docStore) string { return "shard " + d.blobA + " is damaged" },
			after: func(t *testing.T, d *docStore) {
				check(t, d.run("", nil, "get", d.b), 0, "value of "+d.b+"\n", "")
			}},
		{name: "shard from another store", damage: func(t *testing.T, d *docStore) {
			o := newDocStore(t)
			data, err := os.ReadFile(filepath.Join(o.dir, d.blobA))
			if err != nil {
				t.Fatal(err)
			}
			d.damage(t, d.blobA, func(string) string { return string(data) })
		}, args: func(d *docStore) []string { return []string{"get", d.a1} }, code: 1,
			errSub: func(d *docStore) string { return "shard " + d.blobA + " is damaged" }},
		{name: "path with //", stdin: "x", args: argv("set", "a//b"), code: 2, errSub: fixed("invalid path")},
		{name: "path with ..", args: argv("get", "a/../b"), code: 2, errSub: fixed(`"." or ".." segment`)},
		{name: "trailing slash on set", stdin: "x", args: argv("set", "a/b/"), code: 2, errSub: fixed("is a directory")},
		{name: "control character", stdin: "x", args: argv("set", "a\x01b"), code: 2, errSub: fixed("control character")},
		{name: "very long path", stdin: "x", args: argv("set", strings.Repeat("x", 5000)), code: 2, errSub: fixed("invalid path")},
		{name: "binary bytes on stdin", stdin: "\x00\xff\xfebinary", args: argv("set", "bin"), code: 1, errSub: fixed("not UTF-8")},
		{name: "empty passphrase at init", env: []string{"VAULTDB_PASSPHRASE="},
			damage: func(t *testing.T, d *docStore) { d.dir = filepath.Join(t.TempDir(), "new") },
			args:   argv("init", "--iterations", "1000"), code: 2, errSub: fixed("empty"),
			after: func(t *testing.T, d *docStore) {
				if _, err := os.Stat(filepath.Join(d.dir, "config")); err == nil {
					t.Error("a config was written")
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDocStore(t)
			if c.damage != nil {
				c.damage(t, d)
			}
			before := snapshot(t, d.dir)
			r := d.run(c.stdin, c.env, c.args(d)...)
			check(t, r, c.code, "*", c.errSub(d))
			sameSnapshot(t, before, snapshot(t, d.dir))
			if c.after != nil {
				c.after(t, d)
			}
			sameSnapshot(t, before, snapshot(t, d.dir))
		})
	}
}

// TestBigAndOddValues: values of 1 MB round-trip; stdin closed before any
// byte is refused (exit 2, nothing stored); a lone newline stores "".
func TestBigAndOddValues(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	s.must(big, "set", "big")
	if out := s.must("", "get", "-n", "big"); out != big {
		t.Errorf("1 MB value: got %d bytes back", len(out))
	}
	uni := strings.Repeat("pässwörd ☃ 😀 ", 50000)
	s.must(uni, "set", "uni")
	if out := s.must("", "get", "-n", "uni"); out != uni {
		t.Errorf("unicode value: got %d bytes back", len(out))
	}
	// stdin closed at once (a writer that died before writing).
	c := exec.Command(bin, "--store", s.dir, "set", "early")
	c.Env = s.env
	pr, pw, _ := os.Pipe()
	pw.Close()
	c.Stdin = pr
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := c.CombinedOutput()
	pr.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "stdin was empty, so nothing was stored") {
		t.Fatalf("set with closed stdin: %v: %s", err, out)
	}
	check(t, s.run("", nil, "get", "early"), 3, "", "no such entry")
	// A lone newline is the way to store an empty value.
	s.must("\n", "set", "empty")
	check(t, s.run("", nil, "get", "--json", "empty"), 0, "\"\"\n", "")
	// stdin that stops half-way through a line stores what was sent.
	c = exec.Command(bin, "--store", s.dir, "set", "half")
	c.Env = s.env
	pr, pw, _ = os.Pipe()
	c.Stdin = pr
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(pw, "half a li")
	pw.Close()
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	check(t, s.run("", nil, "get", "half"), 0, "half a li\n", "")
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory, or skips.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s); the error mapping is tested in adapters/localdir", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

func TestReadOnlyFilesystem(t *testing.T) {
	t.Parallel()
	mnt := mountTmpfs(t, "1m")
	s := newStore(t)
	s.dir = filepath.Join(mnt, "store")
	s.must("", "init", "--iterations", "1000")
	s.must("hello", "set", "a")
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v: %s", err, out)
	}
	before := snapshot(t, s.dir)
	check(t, s.run("x", nil, "set", "b"), 1, "", "read-only filesystem")
	check(t, s.run("", nil, "rm", "-f", "a"), 1, "", "read-only filesystem")
	check(t, s.run("", nil, "get", "a"), 0, "hello\n", "")
	check(t, s.run("", nil, "fsck"), 0, "*", "")
	sameSnapshot(t, before, snapshot(t, s.dir))
}

func TestDiskFull(t *testing.T) {
	t.Parallel()
	mnt := mountTmpfs(t, "256k")
	s := newStore(t)
	s.dir = filepath.Join(mnt, "store")
	s.must("", "init", "--iterations", "1000")
	s.must("hello", "set", "a")
	// Fill the disk.
	f, err := os.Create(filepath.Join(mnt, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	before := snapshot(t, s.dir)
	check(t, s.run(strings.Repeat("v", 100000), nil, "set", "big"), 1, "", "disk full")
	check(t, s.run(strings.Repeat("v", 100000), nil, "set", "a"), 1, "", "disk full")
	sameSnapshot(t, before, snapshot(t, s.dir))
	check(t, s.run("", nil, "get", "a"), 0, "hello\n", "")
	// With room again, writes work and the store is clean.
	os.Remove(filepath.Join(mnt, "fill"))
	s.must("world", "set", "a")
	check(t, s.run("", nil, "get", "a"), 0, "world\n", "")
	check(t, s.run("", nil, "fsck"), 0, "*", "")
}

// TestNoWritePermission runs vaultdb as an unprivileged user on a store it
// may read but not write. It needs root to switch users (and chmod means
// nothing to root itself).
func TestNoWritePermission(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run vaultdb as another user")
	}
	s := newStore(t)
	// t.TempDir's parent is 0700: use a directory the other user can enter.
	base, err := os.MkdirTemp("", "vaultdb-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	s.dir = filepath.Join(base, "store")
	s.must("", "init", "--iterations", "1000")
	s.must("hello", "set", "a")
	// Readable by all, writable by root only.
	os.Chmod(s.dir, 0o755)
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		os.Chmod(filepath.Join(s.dir, e.Name()), 0o644)
	}
	// The binary must be reachable by the other user.
	nb := binaryIn(t, base)
	before := snapshot(t, s.dir)
	run := func(stdin string, args ...string) result {
		c := exec.Command(nb, append([]string{"--store", s.dir}, args...)...)
		c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + base, "VAULTDB_PASSPHRASE=pw"}
		c.Stdin = strings.NewReader(stdin)
		var out, errOut strings.Builder
		c.Stdout, c.Stderr = &out, &errOut
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Skipf("cannot run as another user: %v", err)
		}
		return result{code, out.String(), errOut.String()}
	}
	check(t, run("", "get", "a"), 0, "hello\n", "")
	check(t, run("x", "set", "b"), 1, "", "permission")
	sameSnapshot(t, before, snapshot(t, s.dir))
}
