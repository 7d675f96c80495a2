// Package localstorage is a blob store in the browser's localStorage, for a
// small store kept in the browser where IndexedDB is not wanted. It builds
// only for GOOS=js (see localstorage.go); this file lets tools that list
// every package see it on other platforms too.
//
// localStorage has no transactions: two tabs that each read a blob,
// compare its revision and write it back can both succeed, and one write
// is lost (two tabs incrementing one counter lost 1 to 8 % of the
// increments, even inside a Web Lock taken per write). So this store has a
// single writer: Open takes an exclusive Web Lock on the store's name
// (navigator.locks, shared by every tab and window of the origin) and
// holds it until Close; while it is held, Open in another tab fails at
// once with ErrInUse, which the page shows as "open in another tab". The
// browser releases the lock when the tab that holds it closes or crashes.
// Within the tab that holds it, one mutex makes read-compare-write atomic.
//
// Blob id is the item "vaultdb:<name>:<id>", a JSON object {"rev": "...",
// "data": "<base64>"}; revisions are random. localStorage holds about
// 5 MB per origin: a write beyond that fails with the browser's
// QuotaExceededError, and nothing is written.
package localstorage
