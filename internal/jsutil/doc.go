// Package jsutil holds the few helpers Go code in a browser needs to wait
// for JavaScript promises and to hand results back as promises, without
// ever blocking the page's event loop.
//
// The rule it exists for: a js.FuncOf callback runs on the event loop, so
// it must return at once. Work that waits (for a promise, an IndexedDB
// request, a fetch) runs in a goroutine; Go's scheduler gives the event
// loop back to the page whenever every goroutine is waiting.
package jsutil
