package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/adapters/wire/nethttp"
	"github.com/vaultdb/vaultdb/vault"
)

// RSResult is one row of the remoteStorage table: a workload on a real
// armadietto on loopback, with the adapter's torn-read check (the default)
// and, as its peer in the same run, without it (unsafe on armadietto:
// reads racing writes see missing entries).
type RSResult struct {
	ID       string `json:"id"`
	Workload string `json:"workload"`
	// Checked and Unchecked are the median runs with and without the
	// torn-read check.
	Checked   RSMeasure `json:"checked"`
	Unchecked RSMeasure `json:"unchecked"`
	Runs      int       `json:"runs"`
	// Ratio is the checked wall time over the unchecked one.
	Ratio float64 `json:"checked_over_unchecked"`
}

// RSMeasure is one run's cost.
type RSMeasure struct {
	HTTPRequests int     `json:"http_requests"`
	WallMS       float64 `json:"wall_ms"`
}

// RSRacing is the torn-read probe: reads of existing entries through the
// engine while another client rewrites their shard.
type RSRacing struct {
	Checked   string `json:"checked"`
	Unchecked string `json:"unchecked"`
	// FalseMissing* are the false "no such entry" answers.
	FalseMissingChecked   int `json:"false_missing_checked"`
	FalseMissingUnchecked int `json:"false_missing_unchecked"`
}

// RSReport is the remoteStorage part of the report.
type RSReport struct {
	Server  string     `json:"server"`
	Skipped string     `json:"skipped,omitempty"`
	Results []RSResult `json:"results,omitempty"`
	Racing  *RSRacing  `json:"racing,omitempty"`
}

// countingTransport counts HTTP requests.
type countingTransport struct {
	n    atomic.Int64
	next wire.Doer
}

func (c *countingTransport) Do(ctx context.Context, r *wire.Request) (*wire.Response, error) {
	c.n.Add(1)
	return c.next.Do(ctx, r)
}

func benchRemoteStorage(ctx context.Context, quick bool) *RSReport {
	rep := &RSReport{Server: "armadietto 0.6.6 on 127.0.0.1"}
	if err := rstest.Available(); err != nil {
		rep.Skipped = err.Error()
		return rep
	}
	progress("starting armadietto")
	srv, err := rstest.Start(rstest.Armadietto)
	if err != nil {
		fatalf("%v", err)
	}
	defer srv.Close()
	runs := 9
	if quick {
		runs = 5
	}
	const docs = 200
	newStore := func() *rstest.Store {
		st, err := srv.CreateStore(ctx, "")
		if err != nil {
			fatalf("%v", err)
		}
		return st
	}
	adapterOn := func(st *rstest.Store, checked bool, ct *countingTransport) adapters.Adapter {
		opts := st.Options()
		opts.AtomicReads = !checked
		ct.next = nethttp.Default()
		opts.Doer = ct
		a, err := remotestorage.New(opts)
		if err != nil {
			fatalf("%v", err)
		}
		// The adapter makes one attempt per call; retries are the stack's,
		// as on the command line.
		return stack.Build(a, stack.Options{Retry: &retry.Options{}})
	}
	// The store of get and set: 200 documents in 4 shards.
	progress("building a %d-document store on armadietto", docs)
	full := newStore()
	s, err := vault.Create(ctx, adapterOn(full, true, &countingTransport{}), passphrase, vault.CreateOptions{Shards: 4, Iterations: benchIterations})
	if err != nil {
		fatalf("%v", err)
	}
	t := s.NewTask(ctx)
	if err := concurrently(docs, func(i int) error { return t.Set(ctx, docPath(i), docValue(i)) }); err != nil {
		fatalf("%v", err)
	}

	type workload struct {
		id, name string
		run      func(a adapters.Adapter, k int) error // k numbers the run
		fresh    bool                                  // on a fresh empty store
	}
	getPath := docPath(docs / 2)
	workloads := []workload{
		{"rs-1-get", fmt.Sprintf("get 1 of %d (open + get)", docs), func(a adapters.Adapter, _ int) error {
			s, err := open(ctx, a)
			if err == nil {
				_, err = s.NewTask(ctx).Get(ctx, getPath)
			}
			return err
		}, false},
		{"rs-2-set", "set new doc 3 dirs deep (open + set)", func(a adapters.Adapter, k int) error {
			s, err := open(ctx, a)
			if err == nil {
				err = s.NewTask(ctx).Set(ctx, fmt.Sprintf("/new%d/n2/n3/doc", k), docValue(-1))
			}
			return err
		}, false},
		{"rs-3-import", "import 100 docs, 4 shards (open + 1 task)", func(a adapters.Adapter, _ int) error {
			s, err := open(ctx, a)
			if err != nil {
				return err
			}
			t := s.NewTask(ctx)
			return concurrently(100, func(i int) error { return t.Set(ctx, docPath(i), docValue(i)) })
		}, true},
	}
	k := 0
	for _, w := range workloads {
		if !selected(w.id) {
			continue
		}
		r := RSResult{ID: w.id, Workload: w.name, Runs: runs}
		for _, checked := range []bool{true, false} {
			var ms []RSMeasure
			for range runs {
				k++
				st := full
				if w.fresh {
					st = newStore()
					if _, err := vault.Create(ctx, adapterOn(st, true, &countingTransport{}), passphrase, vault.CreateOptions{Shards: 4, Iterations: benchIterations}); err != nil {
						fatalf("%v", err)
					}
				}
				ct := &countingTransport{}
				a := adapterOn(st, checked, ct)
				start := time.Now()
				if err := w.run(a, k); err != nil {
					fatalf("%s: %v", w.id, err)
				}
				ms = append(ms, RSMeasure{HTTPRequests: int(ct.n.Load()), WallMS: float64(time.Since(start).Microseconds()) / 1000})
			}
			sort.Slice(ms, func(i, j int) bool { return ms[i].WallMS < ms[j].WallMS })
			if checked {
				r.Checked = ms[len(ms)/2]
			} else {
				r.Unchecked = ms[len(ms)/2]
			}
		}
		r.Ratio = r.Checked.WallMS / r.Unchecked.WallMS
		rep.Results = append(rep.Results, r)
		progress("%-40s checked %6.1f ms (%d requests), unchecked %6.1f ms (%d requests)", w.name,
			r.Checked.WallMS, r.Checked.HTTPRequests, r.Unchecked.WallMS, r.Unchecked.HTTPRequests)
	}

	if selected("rs-racing") {
		reads := 2000
		if quick {
			reads = 1000
		}
		probe := func(checked bool) rstest.RacingReads {
			st := newStore()
			res, err := rstest.ReadsRacingWrites(ctx, func() (adapters.Adapter, error) {
				return adapterOn(st, checked, &countingTransport{}), nil
			}, reads)
			if err != nil {
				fatalf("racing reads: %v", err)
			}
			return res
		}
		progress("reads racing writes, with and without the torn-read check")
		c, u := probe(true), probe(false)
		rep.Racing = &RSRacing{Checked: c.String(), Unchecked: u.String(),
			FalseMissingChecked: c.FalseMissing, FalseMissingUnchecked: u.FalseMissing}
	}
	return rep
}

func printRemoteStorage(w io.Writer, rep *RSReport) {
	if rep == nil {
		return
	}
	fmt.Fprintf(w, "\nremoteStorage: %s, PBKDF2 %d iterations\n", rep.Server, benchIterations)
	if rep.Skipped != "" {
		fmt.Fprintf(w, "  skipped: %s\n", rep.Skipped)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tHTTP requests\twall\t|\tunchecked req\tunchecked wall\tchecked/unchecked\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s %s\t%d\t%s\t|\t%d\t%s\t%.2fx\t\n", r.ID, r.Workload,
			r.Checked.HTTPRequests, fmtMS(r.Checked.WallMS), r.Unchecked.HTTPRequests, fmtMS(r.Unchecked.WallMS), r.Ratio)
	}
	tw.Flush()
	if r := rep.Racing; r != nil {
		fmt.Fprintf(w, "  reads racing writes, through the engine:\n    checked:   %s\n    unchecked: %s\n", r.Checked, r.Unchecked)
	}
	fmt.Fprintf(w, "  checked: the adapter's default, which fetches the folder listing beside every GET (in parallel) and\n"+
		"  re-reads while they disagree; unchecked: Options.AtomicReads, unsafe on armadietto. Medians of the runs.\n")
}
