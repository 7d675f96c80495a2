// Command bench measures what vaultdb's engine costs on a slow blob store:
// requests, sequential rounds (the critical path), bytes moved and wall
// time, for the workloads of issue #6, each against a naive baseline that
// runs the same operations one task at a time.
//
//	go run ./bench                 # full run, 50 ms per request
//	go run ./bench -quick          # smaller, for CI
//	go run ./bench -latency 80ms -jitter 20ms -o /tmp/results.json
//
// Stores are built through the engine at 0 ms latency (concurrent Sets in
// one task), snapshotted, and each measurement runs on a fresh in-memory
// copy behind a latency layer and a trace layer (adapters/latency,
// adapters/trace). It prints one table and writes the same rows as JSON
// (bench/results.json by default). docs/performance.md explains the
// figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault"
)

// Report is the JSON document the harness writes.
type Report struct {
	Generated   string     `json:"generated"`
	GoVersion   string     `json:"go_version"`
	GOOS        string     `json:"goos"`
	GOARCH      string     `json:"goarch"`
	CPUs        int        `json:"cpus"`
	LatencyMS   float64    `json:"latency_ms"`
	JitterMS    float64    `json:"jitter_ms"`
	Quick       bool       `json:"quick"`
	NaiveSample int        `json:"naive_sample"`
	Iterations  int        `json:"pbkdf2_iterations"`
	Populate    []Populate `json:"populate"`
	Results     []Result   `json:"results"`
	Targets     []Target   `json:"targets"`
	// RemoteStorage holds the rows over a real armadietto on loopback.
	RemoteStorage *RSReport `json:"remotestorage,omitempty"`
	// DropboxLock holds the rows of 8-dropbox-lock.
	DropboxLock []DropboxLock `json:"dropbox_lock,omitempty"`
	// Agent holds the whole-process rows of the agent against pass.
	Agent *AgentReport `json:"agent,omitempty"`
	// Scale holds the rows of 10-scale (issue 18's targets).
	Scale   *ScaleReport `json:"scale,omitempty"`
	TotalMS float64      `json:"total_ms"`
	// The machine's load average (1, 5, 15 minutes) when the run started
	// and ended: the figures of a loaded machine are noisier.
	LoadStart string `json:"load_start"`
	LoadEnd   string `json:"load_end"`
}

var jitter time.Duration

// selected reports whether the workload with the given id runs (-run).
var selected = func(string) bool { return true }

func main() {
	var (
		lat     = flag.Duration("latency", 50*time.Millisecond, "injected latency per request")
		jit     = flag.Duration("jitter", 0, "extra uniform random latency per request, in [0, jitter]")
		quick   = flag.Bool("quick", false, "quick mode: growth up to 10,000 documents, smaller naive samples, fewer repetitions")
		out     = flag.String("o", "bench/results.json", "where to write the JSON report (\"\" for none)")
		sample  = flag.Int("naive-sample", -1, "naive operations timed at the injected latency per workload (0: all; default 100, quick 20)")
		runArg  = flag.String("run", "", "only run workloads whose id matches this regular expression (ids: 1-get, 2-set, 3-import, 4-export, 5-rm-r, 1-get-cpu, 6-get-..., 7-kdf, rs-1-get, rs-2-set, rs-3-import, rs-racing, 8-dropbox-lock, 9-agent, 10-scale)")
		cpuProf = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
		sizeArg = flag.String("sizes", "", "store sizes of the growth workload, comma-separated (default 100,1000,10000,100000; quick 100,1000,10000)")
	)
	flag.Parse()
	jitter = *jit
	if *runArg != "" {
		re, err := regexp.Compile(*runArg)
		if err != nil {
			fatalf("bad -run: %v", err)
		}
		selected = re.MatchString
	}
	if *sample < 0 {
		*sample = 100
		if *quick {
			*sample = 20
		}
	}
	sizes := []int{100, 1000, 10000, 100000}
	if *quick {
		sizes = sizes[:3]
	}
	if *sizeArg != "" {
		sizes = nil
		for _, f := range strings.Split(*sizeArg, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				fatalf("bad -sizes %q", *sizeArg)
			}
			sizes = append(sizes, n)
		}
	}
	rep := &Report{
		Generated: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(),
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(),
		LatencyMS: ms(*lat), JitterMS: ms(jitter), Quick: *quick, NaiveSample: *sample,
		Iterations: benchIterations, LoadStart: loadavg(),
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			fatalf("%v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatalf("%v", err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	if err := bench(context.Background(), rep, *lat, *quick, *sample, sizes); err != nil {
		fatalf("%v", err)
	}
	rep.RemoteStorage = benchRemoteStorage(context.Background(), *quick)
	if selected("8-dropbox-lock") {
		progress("8-dropbox-lock: import of 1,000 entries over the fake Dropbox at 100 ms, write lock modelled")
		rows, err := benchDropboxLock(context.Background(), 1000)
		if err != nil {
			fatalf("8-dropbox-lock: %v", err)
		}
		rep.DropboxLock = rows
	}
	if selected("9-agent") {
		progress("9-agent: whole processes with a warm agent, against pass")
		a, err := benchAgent(context.Background(), *quick)
		if err != nil {
			fatalf("9-agent: %v", err)
		}
		rep.Agent = a
	}
	// The scale rows take a few minutes: in -quick runs only when asked
	// for with -run.
	if selected("10-scale") && (!*quick || *runArg != "") {
		progress("10-scale: issue 18's targets, whole vaultdb processes (a few minutes)")
		sc, err := benchScale(context.Background())
		if err != nil {
			fatalf("10-scale: %v", err)
		}
		rep.Scale = sc
	}
	rep.TotalMS = ms(time.Since(start))
	rep.LoadEnd = loadavg()
	rep.Targets = append(checkTargets(rep), agentTargets(rep.Agent)...)
	printTable(os.Stdout, rep)
	printRemoteStorage(os.Stdout, rep.RemoteStorage)
	printDropboxLock(os.Stdout, rep.DropboxLock)
	printAgent(os.Stdout, rep.Agent)
	printScale(os.Stdout, rep.Scale)
	fmt.Printf("\nload average (1, 5, 15 min): %s at the start, %s at the end\n", rep.LoadStart, rep.LoadEnd)
	if *out != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			fatalf("%v", err)
		}
		if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
			fatalf("%v", err)
		}
		fmt.Printf("\nwrote %s\n", *out)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func bench(ctx context.Context, rep *Report, lat time.Duration, quick bool, sample int, sizes []int) error {
	runsSmall := 5 // repetitions of the one-operation workloads
	if quick {
		runsSmall = 3
	}
	latencies := []time.Duration{lat, 0}

	// The stores.
	progress("building stores")
	const docs, shards, archived = 1000, 16, 200
	store1k, p, err := build(ctx, shards, benchIterations, docs, nil)
	if err != nil {
		return err
	}
	rep.Populate = append(rep.Populate, p)
	storeArchive, p, err := build(ctx, shards, benchIterations, docs, addArchive(archived))
	if err != nil {
		return err
	}
	rep.Populate = append(rep.Populate, p)
	empty16, _, err := build(ctx, shards, benchIterations, 0, nil)
	if err != nil {
		return err
	}

	add := func(r Result) {
		rep.Results = append(rep.Results, r)
		progress("%-34s %6.0f ms latency: %4d requests, %3d rounds, wall %9.1f ms", r.Workload, r.LatencyMS, r.Requests, r.Rounds, r.WallMS)
	}
	type workload struct {
		id, name string
		snap     snapshot
		runs     int
		engine   engineRun
		naive    naiveOps
	}
	getPath := docPath(docs / 2)
	workloads := []workload{
		{"1-get", "get 1 of 1,000 (open + get)", store1k, runsSmall, getOne(getPath),
			singleOp(func(ctx context.Context, t *vault.Task) error { _, err := t.Get(ctx, getPath); return err })},
		{"2-set", "set new doc 3 dirs deep", store1k, runsSmall, setOne("/new1/new2/new3/doc"),
			singleOp(func(ctx context.Context, t *vault.Task) error { return t.Set(ctx, "/new1/new2/new3/doc", docValue(-1)) })},
		{"3-import", "import 1,000 docs, 16 shards", empty16, 1, importDocs(docs), naiveImport(docs)},
		{"4-export", "export 1,000 docs (find + get)", store1k, 1, export(docs), naiveExport(docs)},
		{"5-rm-r", "rm -r dir of 200 docs", storeArchive, 1, rmDir("/archive/", archived), naiveRmDir("/archive/", archived)},
	}
	for _, w := range workloads {
		if !selected(w.id) {
			continue
		}
		for _, l := range latencies {
			runs := w.runs
			if l > 0 && runs > 3 {
				runs = 3
			}
			r, err := measureEngine(ctx, w.snap, l, runs, w.engine)
			if err != nil {
				return fmt.Errorf("%s: %w", w.id, err)
			}
			r.ID, r.Workload = w.id, w.name
			n, err := runNaive(ctx, w.snap, l, sample, w.naive)
			if err != nil {
				return fmt.Errorf("%s naive: %w", w.id, err)
			}
			r.Naive = &n
			r.Speedup = n.WallMS / r.WallMS
			add(r)
		}
	}

	// CPU of one get on the 1,000-document store, excluding the open.
	cpuRuns := 200
	if !selected("1-get-cpu") {
		cpuRuns = 0
	}
	if cpuRuns > 0 {
		cpu, bytes, err := getCPU(ctx, store1k, getPath, cpuRuns)
		if err != nil {
			return err
		}
		add(Result{ID: "1-get-cpu", Workload: "get CPU, task + get (no open/KDF)", Runs: cpuRuns,
			Measure: Measure{Requests: 1, Reads: 1, BytesRead: bytes, WallMS: ms(cpu)},
			Note:    "median of NewTask+Get on an opened 1,000-document store at 0 ms latency"})
	}

	// 6: get as the store grows, at a fixed shard count and at one grown
	// with the store.
	for _, n := range sizes {
		for _, grown := range []bool{false, true} {
			sh := shards
			label := fmt.Sprintf("get, %d docs, %d shards", n, sh)
			if grown {
				sh = max(1, n/100)
				label = fmt.Sprintf("get, %d docs, %d shards (grown)", n, sh)
			}
			id := fmt.Sprintf("6-get-%d-%s", n, map[bool]string{false: "fixed", true: "grown"}[grown])
			if !selected(id) {
				continue
			}
			path := docPath(n / 2)
			progress("building %d documents in %d shards", n, sh)
			snap, p, err := build(ctx, sh, benchIterations, n, nil)
			if err != nil {
				return err
			}
			rep.Populate = append(rep.Populate, p)
			r, err := measureEngine(ctx, snap, lat, min(runsSmall, 3), getOne(path))
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			r.ID, r.Workload = id, label+" (open + get)"
			add(r)
			cpu, bytes, err := getCPU(ctx, snap, path, 50)
			if err != nil {
				return err
			}
			add(Result{ID: id + "-cpu", Workload: label + " CPU (no open)", Runs: 50,
				Measure: Measure{Requests: 1, Reads: 1, BytesRead: bytes, WallMS: ms(cpu)}})
		}
	}

	// 7: key derivation at the default iteration count.
	if !selected("7-kdf") {
		return nil
	}
	progress("building a store at %d PBKDF2 iterations", vault.DefaultIterations)
	kdf, _, err := build(ctx, shards, vault.DefaultIterations, 0, nil)
	if err != nil {
		return err
	}
	for _, l := range latencies {
		runs := 3
		if quick {
			runs = 1
		}
		r, err := measureEngine(ctx, kdf, l, runs, func(ctx context.Context, a adapters.Adapter) (vault.Stats, error) {
			_, err := open(ctx, a)
			return vault.Stats{}, err
		})
		if err != nil {
			return fmt.Errorf("7-kdf: %w", err)
		}
		r.ID, r.Workload = "7-kdf", fmt.Sprintf("open at %d PBKDF2 iterations", vault.DefaultIterations)
		add(r)
	}
	return nil
}

func printTable(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "vaultdb bench: %s/%s, %d CPUs, %s; injected latency %.0f ms (jitter %.0f ms); PBKDF2 %d iterations except 7-kdf\n\n",
		rep.GOOS, rep.GOARCH, rep.CPUs, rep.GoVersion, rep.LatencyMS, rep.JitterMS, rep.Iterations)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tlatency\trequests\trounds (r+w)\tbytes\twall\t|\tnaive req\tnaive rounds\tnaive wall\tvs naive\t")
	for _, r := range rep.Results {
		rounds := "-"
		if r.LatencyMS > 0 && r.Rounds > 0 {
			rounds = fmt.Sprintf("%d (%d+%d)", r.Rounds, r.ReadRounds, r.WriteRounds)
		}
		nreq, nrounds, nwall, ratio := "", "", "", ""
		if n := r.Naive; n != nil {
			nreq = strconv.Itoa(n.Requests)
			nrounds = "-"
			if r.LatencyMS > 0 {
				nrounds = strconv.Itoa(n.Rounds)
			}
			nwall = fmtMS(n.WallMS)
			if n.Sampled > 0 {
				nwall = "~" + nwall
			}
			ratio = fmt.Sprintf("%.1fx", r.Speedup)
		}
		fmt.Fprintf(tw, "%s %s\t%.0f ms\t%d\t%s\t%s\t%s\t|\t%s\t%s\t%s\t%s\t\n",
			r.ID, r.Workload, r.LatencyMS, r.Requests, rounds, fmtBytes(r.Bytes()), fmtMS(r.WallMS),
			nreq, nrounds, nwall, ratio)
	}
	tw.Flush()
	if len(rep.Targets) > 0 {
		fmt.Fprintf(w, "\ntargets of issue #6 (at %.0f ms latency unless noted):\n", rep.LatencyMS)
		for _, t := range rep.Targets {
			mark := "MET   "
			if !t.Met {
				mark = "MISSED"
			}
			fmt.Fprintf(w, "  %s %-44s want %-28s got %s\n", mark, t.Name, t.Want, t.Got)
		}
	}
	fmt.Fprintf(w, "\nrounds: sequential request rounds (config read included), \"-\" at 0 ms where requests do not overlap;\n"+
		"naive: one new task per operation, run one after another; \"~\": %d operations timed at the injected latency, the rest\n"+
		"run at %.0f ms (requests, rounds and bytes exact), wall time scaled from the timed sample. Total %.1f s.\n",
		rep.NaiveSample, ms(sampleFast), rep.TotalMS/1000)
}

func fmtMS(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.1f s", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 1:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.0f µs", v*1000)
	}
}

func fmtBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
}

// Target is one of the performance targets, checked against the
// run's figures.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// dirLevels is the number of directory levels above each document of the
// 1,000-document store: /, /gGG/, /gGG/siteN/.
const dirLevels = 3

func checkTargets(rep *Report) []Target {
	find := func(id string, slow bool) *Result {
		for i, r := range rep.Results {
			if r.ID == id && (r.LatencyMS > 0) == slow {
				return &rep.Results[i]
			}
		}
		return nil
	}
	var ts []Target
	if r := find("1-get", true); r != nil {
		ts = append(ts, Target{"1 open + get: sequential rounds", "= 2 (config, shard)",
			fmt.Sprintf("%d rounds, %d requests", r.Rounds, r.Requests), r.Rounds == 2})
	}
	if r := find("2-set", true); r != nil {
		ts = append(ts, Target{"2 new document 3 dirs deep: rounds (issue 20)", "<= 4 incl. config read",
			fmt.Sprintf("%d rounds (%d read + %d write)", r.Rounds, r.ReadRounds, r.WriteRounds), r.Rounds <= 4})
	}
	if r := find("3-import", true); r != nil {
		// The config read is the open's; the rest are the task's shard reads.
		shardReads, shardReadRounds := r.Reads-1, r.ReadRounds-1
		ts = append(ts,
			Target{"3 import: shard reads", "<= 16 in 1 round",
				fmt.Sprintf("%d in %d round(s)", shardReads, shardReadRounds), shardReads <= 16 && shardReadRounds == 1},
			Target{"3 import: write rounds (issue 20)", "<= 2",
				fmt.Sprintf("%d (%d writes, plan N=%d D=%d)", r.WriteRounds, r.Writes, r.N, r.D), r.WriteRounds <= 2},
			Target{"3 import: speed-up over naive", ">= 50x",
				fmt.Sprintf("%.0fx (%s vs %s)", r.Speedup, fmtMS(r.WallMS), fmtMS(r.Naive.WallMS)), r.Speedup >= 50})
	}
	if r := find("4-export", true); r != nil {
		ts = append(ts, Target{"4 export: rounds", fmt.Sprintf("<= 1 + one per dir level (%d)", 1+dirLevels),
			fmt.Sprintf("%d rounds for 1,000 documents", r.Rounds), r.Rounds <= 1+dirLevels})
	}
	if r := find("1-get-cpu", false); r != nil {
		ts = append(ts, Target{"CPU per get, 1,000 docs, 0 ms (no KDF)", "< 1 ms",
			fmtMS(r.WallMS), r.WallMS < 1})
	}
	return ts
}
