// Package peakrss follows the peak resident set of a child process, for the
// memory bounds of the end-to-end tests and the bench rows.
//
// The child's own rusage cannot be used on Linux: Go starts children with
// vfork (CLONE_VM), and the kernel records the shared address space's
// high-water mark in the child's ru_maxrss at exec, so a child of a 300 MB
// process reports 300 MB even for /bin/true. VmHWM in /proc/PID/status
// belongs to the address space the program got at exec. Polling misses at
// most the growth of the last few milliseconds before exit.
package peakrss

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// Interval is how often Watch reads the child's VmHWM.
const Interval = 2 * time.Millisecond

// Watch follows the peak resident set of process pid (its VmHWM, in bytes)
// until stop is called, which returns the largest value seen: 0 when none
// could be read (no /proc, or the process had already exited).
func Watch(pid int) (stop func() int64) {
	var mu sync.Mutex
	var peak int64
	read := func() {
		kb, ok := VmHWM(pid)
		if !ok {
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
		t := time.NewTicker(Interval)
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

// VmHWM returns the peak resident set of process pid in KiB, as the kernel
// reports it in /proc/PID/status; false when it cannot be read (the process
// is gone or a zombie, or there is no /proc).
func VmHWM(pid int) (kb int64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	_, rest, found := bytes.Cut(b, []byte("VmHWM:"))
	if !found {
		return 0, false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	kb, err = strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(line), []byte(" kB"))), 10, 64)
	if err != nil {
		return 0, false
	}
	return kb, true
}
