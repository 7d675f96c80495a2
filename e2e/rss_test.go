package e2e

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// watchRSS follows the peak resident set of process pid (its VmHWM, in
// bytes) until stop is called, which returns the largest value seen.
//
// The child's own rusage cannot be used: Go starts children with vfork
// (CLONE_VM), and Linux records the shared address space's high-water mark
// in the child's ru_maxrss at exec, so a child of a 300 MB test process
// reports 300 MB even for /bin/true. VmHWM belongs to the address space the
// program got at exec. Polling misses at most the growth of the last few
// milliseconds before exit.
func watchRSS(pid int) (stop func() int64) {
	var mu sync.Mutex
	var peak int64
	read := func() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return
		}
		_, rest, ok := bytes.Cut(b, []byte("VmHWM:"))
		if !ok {
			return
		}
		line, _, _ := bytes.Cut(rest, []byte("\n"))
		kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(line), []byte(" kB"))), 10, 64)
		if err != nil {
			return
		}
		mu.Lock()
		peak = max(peak, kb*1024)
		mu.Unlock()
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
