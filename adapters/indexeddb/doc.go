// Package indexeddb is a blob store in the browser's IndexedDB, for a store
// kept in the browser itself. It builds only for GOOS=js (see
// indexeddb.go); this file lets tools that list every package see it on
// other platforms too.
//
// Each blob is one record {data: Uint8Array, rev: string} of the object
// store "blobs", keyed by blob id. A write is one readwrite transaction
// that reads the record, compares its revision and puts the new one, so
// compare-and-swap holds across tabs and windows of the same origin:
// IndexedDB runs readwrite transactions on one object store one at a time.
// (localStorage cannot do this: two tabs incrementing one counter lost
// increments even inside a Web Lock, while this gave none.) Writes ask for
// "strict" durability: the transaction completes only once the data is
// flushed.
package indexeddb
