package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vaultdb/vaultdb/adapters/latency"
	"github.com/vaultdb/vaultdb/adapters/memory"
)

// A batch whose caller gives up (Ctrl-C cancels the command's context)
// starts no more calls: the old code ran every later wave's update
// functions and plans after the cancellation, and the last call of each
// wave to plan sent its links before it was abandoned, leaving names
// listed with no document behind them.
func TestBatchStopsWhenCancelled(t *testing.T) {
	const shards, n = 4, 40
	m := memory.New()
	newStore(t, m, shards)
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/g%02d/site%05d/login", i%5, i)
	}
	synctest.Test(t, func(t *testing.T) {
		// Waves of one, with latency on every request: the cancellation
		// comes while the first waves' writes are in flight.
		s, err := Open(context.Background(), latency.New(m, latency.Options{Delay: slow}), []byte("pass phrase"), Options{BatchWindow: 1})
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(context.Background())
		var cancelled atomic.Bool
		var late atomic.Int64
		go func() {
			time.Sleep(3 * slow)
			cancelled.Store(true)
			cancel()
		}()
		errs := s.NewTask(context.Background()).UpdateAll(cctx, paths, func(i int) UpdateFunc {
			return func(json.RawMessage) (json.RawMessage, error) {
				if cancelled.Load() {
					late.Add(1)
				}
				return json.RawMessage(fmt.Sprint(i)), nil
			}
		})
		if !errors.Is(errs[n-1], context.Canceled) {
			t.Errorf("the last call of a cancelled batch: %v, want context.Canceled", errs[n-1])
		}
		if k := late.Load(); k > 0 {
			t.Errorf("%d update functions ran after the batch's context was cancelled", k)
		}
		time.Sleep(10 * slow) // writes in flight at the cancellation land
	})
	if err := decodeMem(t, m).Invariant(); err != nil {
		t.Fatal(err)
	}
}
