package e2e

import "github.com/vaultdb/vaultdb/internal/peakrss"

// watchRSS follows the peak resident set of process pid (its VmHWM, in
// bytes) until stop is called; see peakrss for why not the child's rusage.
func watchRSS(pid int) (stop func() int64) { return peakrss.Watch(pid) }
