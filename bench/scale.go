package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vaultdb/vaultdb/internal/peakrss"
)

// The scale rows of issue 18: whole vaultdb processes on a local directory,
// each figure a ratio against a peer measured in the same run (or a peak
// RSS against its bound), so that they hold on a loaded machine. CPU is
// user + system time from the kernel's accounting of the finished child
// (getrusage). Peak RSS is the child's own VmHWM, polled (peakrss): its
// rusage maximum would carry this harness's high-water mark (vfork).
// PBKDF2 runs at benchIterations, so the figures are the store's own cost.

// ScaleRow is one target of issue 18 as measured.
type ScaleRow struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Target string  `json:"target"`
	Limit  float64 `json:"limit"`
	Got    float64 `json:"got"`  // the measured ratio or MB; 0 when not measured
	Unit   string  `json:"unit"` // "x" (a ratio) or "MB"
	Pass   bool    `json:"pass"`
	Detail string  `json:"detail"`
	Err    string  `json:"error,omitempty"`
}

// ScaleReport holds the scale rows and the machine's load around them.
type ScaleReport struct {
	LoadBefore string     `json:"load_before"` // /proc/loadavg when the rows started
	LoadAfter  string     `json:"load_after"`
	Rows       []ScaleRow `json:"rows"`
}

// proc is one finished vaultdb process.
type proc struct {
	cpu   time.Duration // user + system
	wall  time.Duration
	rssMB float64
}

// scaleRig runs the vaultdb binary, built once, on stores in a temporary
// directory.
type scaleRig struct {
	dir, bin, pass string
	env            []string
}

func newScaleRig(ctx context.Context) (*scaleRig, error) {
	dir, err := os.MkdirTemp("", "vaultdb-bench-scale-")
	if err != nil {
		return nil, err
	}
	r := &scaleRig{dir: dir, bin: filepath.Join(dir, "vaultdb"), pass: filepath.Join(dir, "passphrase")}
	// The passphrase of these throw-away stores of made-up entries.
	if err := os.WriteFile(r.pass, append(passphrase, '\n'), 0o600); err != nil {
		return nil, err
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", r.bin, ".")
	build.Dir = moduleRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	// No agent, no store from the environment, no passphrase in it.
	runtimeDir := filepath.Join(dir, "run")
	if err := os.Mkdir(runtimeDir, 0o700); err != nil {
		return nil, err
	}
	r.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_RUNTIME_DIR=" + runtimeDir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	return r, nil
}

func (r *scaleRig) close() { os.RemoveAll(r.dir) }

// moduleRoot is the directory of the go.mod the harness runs in.
func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// run runs vaultdb with args on store, stdin from in (may be nil), and
// returns its accounting. A non-zero exit is an error carrying stderr.
func (r *scaleRig) run(ctx context.Context, store string, in io.Reader, args ...string) (proc, error) {
	full := append([]string{"--store", store, "--passphrase-file", r.pass}, args...)
	cmd := exec.CommandContext(ctx, r.bin, full...)
	cmd.Env = r.env
	cmd.Stdin = in
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return proc{}, fmt.Errorf("vaultdb %s: %v", strings.Join(args, " "), err)
	}
	stopRSS := peakrss.Watch(cmd.Process.Pid)
	err := cmd.Wait()
	wall, peak := time.Since(start), stopRSS()
	if err != nil {
		return proc{}, fmt.Errorf("vaultdb %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return proc{}, errors.New("no resource usage for the child on this system")
	}
	if peak == 0 {
		return proc{}, errors.New("no peak RSS of the child (/proc/PID/status VmHWM unreadable)")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return proc{cpu: cpu, wall: wall, rssMB: float64(peak) / (1 << 20)}, nil
}

// initStore makes an empty store of the given shard count.
func (r *scaleRig) initStore(ctx context.Context, name string, shards int) (string, error) {
	store := filepath.Join(r.dir, name)
	os.RemoveAll(store)
	_, err := r.run(ctx, store, nil, "init", "--shards", fmt.Sprint(shards),
		"--iterations", fmt.Sprint(benchIterations), "--allow-weak-passphrase")
	return store, err
}

// input writes the import input of documents [from, from+n) and returns
// its file name.
func (r *scaleRig) input(from, n int) (string, error) {
	name := filepath.Join(r.dir, fmt.Sprintf("input-%d-%d.json", from, n))
	f, err := os.Create(name)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	w.WriteString("{\n")
	for i := from; i < from+n; i++ {
		fmt.Fprintf(w, "%q: %s", docPath(i), docValue(i))
		if i < from+n-1 {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
	}
	w.WriteString("}\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	return name, f.Close()
}

// importInto makes a store of the given shard count and imports file.
func (r *scaleRig) importInto(ctx context.Context, name string, shards int, file string) (string, proc, error) {
	store, err := r.initStore(ctx, name, shards)
	if err != nil {
		return "", proc{}, err
	}
	p, err := r.run(ctx, store, nil, "import", file)
	return store, p, err
}

// reshardTarget is the shard count the get and set rows reshard the
// 100,000-entry store to: about 100 entries a shard, where the growth rows
// (6-get-*-grown) show a get costing what it costs on a small store.
const reshardTarget = 1024

func ratioRow(id, name string, limit float64, detail string, got float64, err error) ScaleRow {
	row := ScaleRow{ID: id, Name: name, Target: fmt.Sprintf("<= %.1fx", limit), Limit: limit, Unit: "x", Detail: detail}
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.Got, row.Pass = got, got <= limit
	return row
}

func rssRow(id, name string, limitMB float64, p proc, err error) ScaleRow {
	row := ScaleRow{ID: id, Name: name, Target: fmt.Sprintf("<= %.0f MB", limitMB), Limit: limitMB, Unit: "MB"}
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.Got, row.Pass = p.rssMB, p.rssMB <= limitMB
	row.Detail = fmt.Sprintf("CPU %.2f s, wall %.2f s", p.cpu.Seconds(), p.wall.Seconds())
	return row
}

// cpuPairs runs a and b in turn n times and returns the median of the CPU
// ratios a/b, pair by pair (a pair shares the machine's load), with the
// median CPU of each.
func cpuPairs(n int, a, b func(i int) (proc, error)) (ratio float64, ma, mb time.Duration, err error) {
	var rs []float64
	var as, bs []time.Duration
	for i := range n {
		pa, err := a(i)
		if err != nil {
			return 0, 0, 0, err
		}
		pb, err := b(i)
		if err != nil {
			return 0, 0, 0, err
		}
		rs = append(rs, pa.cpu.Seconds()/max(pb.cpu.Seconds(), 1e-6))
		as, bs = append(as, pa.cpu), append(bs, pb.cpu)
	}
	return medianFloat(rs), median(as), median(bs), nil
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// benchScale measures the rows. It stops at the first failure to build
// what the later rows need, and reports it in every row left.
func benchScale(ctx context.Context) (*ScaleReport, error) {
	rep := &ScaleReport{LoadBefore: loadavg()}
	defer func() { rep.LoadAfter = loadavg() }()
	r, err := newScaleRig(ctx)
	if err != nil {
		return nil, err
	}
	defer r.close()
	add := func(row ScaleRow) {
		rep.Rows = append(rep.Rows, row)
		progress("%s: %s", row.ID, rowResult(row))
	}

	in100, err := r.input(0, 100)
	if err != nil {
		return nil, err
	}
	in10k, err := r.input(0, 10000)
	if err != nil {
		return nil, err
	}
	in30k, err := r.input(0, 30000)
	if err != nil {
		return nil, err
	}
	in100k, err := r.input(0, 100000)
	if err != nil {
		return nil, err
	}

	// Import of 100,000 entries: peak RSS, and CPU against ten imports
	// of 10,000 (each into a new store: the batch should scale linearly).
	progress("10-scale: import of 100,000 entries into 4 shards")
	store100k, imp100k, err := r.importInto(ctx, "s100k", 4, in100k)
	add(rssRow("10-import-100k-rss", "import 100,000, 4 shards: peak RSS", 250, imp100k, err))
	if err != nil {
		return rep, nil
	}
	progress("10-scale: ten imports of 10,000 entries")
	var ten time.Duration
	for range 10 {
		_, p, err := r.importInto(ctx, "s10k", 4, in10k)
		if err != nil {
			add(ratioRow("10-import-100k-cpu", "import 100,000: CPU vs 10 imports of 10,000", 2, "", 0, err))
			return rep, nil
		}
		ten += p.cpu
	}
	add(ratioRow("10-import-100k-cpu", "import 100,000: CPU vs 10 imports of 10,000", 2,
		fmt.Sprintf("%.2f s vs 10 x %.2f s", imp100k.cpu.Seconds(), ten.Seconds()/10),
		imp100k.cpu.Seconds()/ten.Seconds(), nil))

	progress("10-scale: export of 100,000 entries")
	exp, err := r.run(ctx, store100k, nil, "export", "-o", filepath.Join(r.dir, "export.json"))
	add(rssRow("10-export-100k-rss", "export 100,000, 4 shards: peak RSS", 150, exp, err))
	os.Remove(filepath.Join(r.dir, "export.json"))

	progress("10-scale: import of 30,000 entries into 256 and into 4 shards, 3 pairs")
	ratio, m256, m4, err := cpuPairs(3,
		func(int) (proc, error) { _, p, err := r.importInto(ctx, "s30k-256", 256, in30k); return p, err },
		func(int) (proc, error) { _, p, err := r.importInto(ctx, "s30k-4", 4, in30k); return p, err })
	add(ratioRow("10-import-30k-256-vs-4", "import 30,000: CPU, 256 shards vs 4", 2,
		fmt.Sprintf("median CPU %.2f s vs %.2f s", m256.Seconds(), m4.Seconds()), ratio, err))
	os.RemoveAll(filepath.Join(r.dir, "s30k-256"))
	os.RemoveAll(filepath.Join(r.dir, "s30k-4"))

	// Get and set on a 100,000-entry store against a 100-entry one.
	store100, _, err := r.importInto(ctx, "s100", 4, in100)
	if err != nil {
		return nil, err
	}
	getPath, setPath := docPath(50)[1:], docPath(60)[1:]
	big := docPath(50000)[1:]
	get := func(store, path string) func(int) (proc, error) {
		return func(int) (proc, error) { return r.run(ctx, store, nil, "get", path) }
	}
	set := func(store, path string) func(int) (proc, error) {
		return func(i int) (proc, error) {
			return r.run(ctx, store, strings.NewReader(fmt.Sprintf("value %d of a bench run", i)), "set", "-f", path)
		}
	}
	ratio, mBig, mSmall, err := cpuPairs(9, get(store100k, big), get(store100, getPath))
	row := ratioRow("10-get-100k-4shards", "get: 100,000 entries in 4 shards vs 100 (what reshard fixes)", 0,
		fmt.Sprintf("median CPU %.1f ms vs %.1f ms", ms(mBig), ms(mSmall)), ratio, err)
	row.Target, row.Pass = "info", err == nil
	add(row)

	progress("10-scale: reshard of the 100,000-entry store to %d shards", reshardTarget)
	var resharded error
	if _, err := r.run(ctx, store100k, nil, "reshard", "--help"); err != nil {
		resharded = errors.New("reshard not built: `vaultdb reshard N` is not a command of this binary")
	} else if p, err := r.run(ctx, store100k, nil, "reshard", fmt.Sprint(reshardTarget)); err != nil {
		resharded = err
	} else {
		progress("10-scale: reshard took CPU %.2f s, wall %.2f s, peak RSS %.0f MB", p.cpu.Seconds(), p.wall.Seconds(), p.rssMB)
	}
	if resharded != nil {
		add(ratioRow("10-get-100k-resharded", "get: 100,000 entries after reshard vs 100", 1.3, "", 0, resharded))
		add(ratioRow("10-set-100k-resharded", "set: 100,000 entries after reshard vs 100", 3, "", 0, resharded))
		return rep, nil
	}
	ratio, mBig, mSmall, err = cpuPairs(9, get(store100k, big), get(store100, getPath))
	add(ratioRow("10-get-100k-resharded", fmt.Sprintf("get: 100,000 entries after reshard %d vs 100", reshardTarget), 1.3,
		fmt.Sprintf("median CPU %.1f ms vs %.1f ms", ms(mBig), ms(mSmall)), ratio, err))
	ratio, mBig, mSmall, err = cpuPairs(9, set(store100k, big), set(store100, setPath))
	add(ratioRow("10-set-100k-resharded", fmt.Sprintf("set: 100,000 entries after reshard %d vs 100", reshardTarget), 3,
		fmt.Sprintf("median CPU %.1f ms vs %.1f ms", ms(mBig), ms(mSmall)), ratio, err))
	return rep, nil
}

func rowResult(row ScaleRow) string {
	switch {
	case row.Err != "":
		return "FAIL: " + row.Err
	case row.Target == "info":
		return fmt.Sprintf("%.2fx (%s)", row.Got, row.Detail)
	}
	verdict := "FAIL"
	if row.Pass {
		verdict = "PASS"
	}
	if row.Unit == "MB" {
		return fmt.Sprintf("%s: %.0f MB, target %s (%s)", verdict, row.Got, row.Target, row.Detail)
	}
	return fmt.Sprintf("%s: %.2fx, target %s (%s)", verdict, row.Got, row.Target, row.Detail)
}

func printScale(w io.Writer, rep *ScaleReport) {
	if rep == nil {
		return
	}
	fmt.Fprintf(w, "\nscale targets of issue 18 (whole vaultdb processes on a local directory, CPU = user+sys, %d PBKDF2 iterations; load average %s before, %s after):\n",
		benchIterations, rep.LoadBefore, rep.LoadAfter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  \trow\ttarget\tmeasured\tdetail")
	for _, row := range rep.Rows {
		verdict, got := "FAIL", ""
		switch {
		case row.Err != "":
			got = row.Err
		case row.Target == "info":
			verdict, got = "info", fmt.Sprintf("%.2fx", row.Got)
		case row.Unit == "MB":
			got = fmt.Sprintf("%.0f MB", row.Got)
		default:
			got = fmt.Sprintf("%.2fx", row.Got)
		}
		if row.Pass && row.Target != "info" {
			verdict = "PASS"
		}
		fmt.Fprintf(tw, "  %s\t%s %s\t%s\t%s\t%s\n", verdict, row.ID, row.Name, row.Target, got, row.Detail)
	}
	tw.Flush()
}
