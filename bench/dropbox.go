package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/vault"
)

// DropboxLock is one import over the fake Dropbox with its model of the
// per-namespace write lock on (issue 14): the stack as the command line
// builds it (one upload at a time), and the same without the write bound
// (with today's retries: jitter on top of Retry-After, paced refusals
// counted apart; the old retries gave up, see e2e TestDropboxWriteLockImport).
type DropboxLock struct {
	Config     string  `json:"config"`
	Docs       int     `json:"docs"`
	Shards     int     `json:"shards"`
	LatencyMS  float64 `json:"latency_ms"`
	Requests   int     `json:"requests"`
	Uploads    int     `json:"uploads"`
	Refused429 int     `json:"refused_429"`
	Refused409 int     `json:"refused_409"`
	Failed     int     `json:"failed"` // entries whose Set failed
	WallMS     float64 `json:"wall_ms"`
}

// benchTB is the part of testing.TB the fake needs.
type benchTB struct{ cleanups []func() }

func (b *benchTB) Helper()          {}
func (b *benchTB) Cleanup(f func()) { b.cleanups = append(b.cleanups, f) }
func (b *benchTB) close() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}

// benchDropboxLock imports docs entries in one task (as vaultdb import
// does) into a fresh store of 16 shards on the fake at 100 ms per request,
// with the write lock modelled: an upload that finds the lock held is
// refused at once, alternately 429 and 409 too_many_write_operations.
func benchDropboxLock(ctx context.Context, docs int) ([]DropboxLock, error) {
	const shards = 16
	const lat = 100 * time.Millisecond
	var out []DropboxLock
	for _, c := range []struct {
		name      string
		maxWrites int
	}{{"stack (1 upload at a time)", 0}, {"no write bound (same retries)", -1}} {
		tb := &benchTB{}
		srv := dropboxtest.NewServer(tb)
		at, rt := srv.IssueTokens()
		base, err := dropbox.New(dropbox.Options{Root: "/bench", APIBase: srv.URL, ContentBase: srv.URL, TokenURL: srv.TokenURL(),
			AppKey: dropboxtest.AppKey, Token: &dropbox.Token{AccessToken: at, RefreshToken: rt}})
		if err != nil {
			tb.close()
			return nil, err
		}
		a := stack.Build(base, stack.Options{Retry: &retry.Options{}, MaxWrites: c.maxWrites})
		s, err := vault.Create(ctx, a, passphrase, vault.CreateOptions{Shards: shards, Iterations: benchIterations})
		if err != nil {
			tb.close()
			return nil, err
		}
		srv.SetNamespace(dropboxtest.Namespace{Latency: lat})
		before := srv.Stats()
		start := time.Now()
		t := s.NewTask(ctx)
		failed := 0
		errs := make([]error, docs)
		concurrently(docs, func(i int) error {
			errs[i] = t.Set(ctx, docPath(i), docValue(i))
			return nil
		})
		for _, err := range errs {
			if err != nil {
				failed++
			}
		}
		wall := time.Since(start)
		st := srv.Stats()
		req := 0
		for k, v := range st.Requests {
			req += v - before.Requests[k]
		}
		out = append(out, DropboxLock{Config: c.name, Docs: docs, Shards: shards, LatencyMS: ms(lat), Requests: req,
			Uploads:    st.Requests[dropboxtest.Upload] - before.Requests[dropboxtest.Upload],
			Refused429: st.LockRefused429, Refused409: st.LockRefused409, Failed: failed, WallMS: ms(wall)})
		tb.close()
	}
	return out, nil
}

func printDropboxLock(w io.Writer, rows []DropboxLock) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\n8-dropbox-lock: import of %d entries into %d shards over the fake Dropbox at %.0f ms, write lock modelled\n\n",
		rows[0].Docs, rows[0].Shards, rows[0].LatencyMS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\trequests\tuploads\t429s\t409s\tfailed entries\twall\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.1f s\t\n", r.Config, r.Requests, r.Uploads, r.Refused429, r.Refused409, r.Failed, r.WallMS/1000)
	}
	tw.Flush()
}
