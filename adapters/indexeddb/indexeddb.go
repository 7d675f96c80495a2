//go:build js && wasm

package indexeddb

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/internal/jsutil"
)

const (
	objectStore = "blobs"
	dbVersion   = 1
	// DBPrefix is prepended to a store's name to give its database's name.
	DBPrefix = "vaultdb:"
)

// Adapter is a blob store in one IndexedDB database.
type Adapter struct {
	db   js.Value
	name string
}

// Open opens (creating it if needed) the database of the store called
// name. It fails when the browser has no IndexedDB (some private modes).
func Open(ctx context.Context, name string) (*Adapter, error) {
	if name == "" {
		return nil, errors.New("the browser store needs a name")
	}
	idb := js.Global().Get("indexedDB")
	if idb.IsUndefined() || idb.IsNull() {
		return nil, errors.New("this browser gives the page no IndexedDB (a private window may not); use another store")
	}
	req := idb.Call("open", DBPrefix+name, dbVersion)
	upgrade := js.FuncOf(func(js.Value, []js.Value) any {
		db := req.Get("result")
		if !db.Get("objectStoreNames").Call("contains", objectStore).Bool() {
			db.Call("createObjectStore", objectStore)
		}
		return nil
	})
	req.Set("onupgradeneeded", upgrade)
	if _, err := waitThen(ctx, req, upgrade.Release, "success", "error", "blocked"); err != nil {
		return nil, fmt.Errorf("cannot open the browser store %q: %w", name, err)
	}
	db := req.Get("result")
	// Another tab upgrading the database (a newer page) asks this one to
	// close; closing lets it go ahead, and this tab's next call fails.
	closer := js.FuncOf(func(js.Value, []js.Value) any { db.Call("close"); return nil })
	db.Set("onversionchange", closer)
	return &Adapter{db: db, name: name}, nil
}

// Name returns the store's name.
func (a *Adapter) Name() string { return a.name }

// Close closes the database.
func (a *Adapter) Close() { a.db.Call("close") }

// wait waits for the first of the events on target; the first event name
// is success, any other a failure carrying target.error.
func wait(ctx context.Context, target js.Value, events ...string) (js.Value, error) {
	return waitThen(ctx, target, nil, events...)
}

// waitThen is wait that also calls after once one of the events came, even
// when ctx ended the wait before: callbacks the request may still call
// must stay alive until then, so after is where they are released.
func waitThen(ctx context.Context, target js.Value, after func(), events ...string) (js.Value, error) {
	type result struct {
		event string
		v     js.Value
	}
	ch := make(chan result, len(events))
	funcs := make([]js.Func, len(events))
	for i, ev := range events {
		ev := ev
		funcs[i] = js.FuncOf(func(_ js.Value, args []js.Value) any {
			ch <- result{ev, target}
			return nil
		})
		target.Call("addEventListener", ev, funcs[i])
	}
	release := func() {
		for i, ev := range events {
			target.Call("removeEventListener", ev, funcs[i])
			funcs[i].Release()
		}
		if after != nil {
			after()
		}
	}
	select {
	case r := <-ch:
		release()
		if r.event == events[0] {
			return r.v, nil
		}
		if r.event == "blocked" {
			return js.Undefined(), errors.New("another tab holds an older version of the database open; close it")
		}
		if e := target.Get("error"); !e.IsUndefined() && !e.IsNull() {
			return js.Undefined(), jsutil.ErrorOf(e)
		}
		return js.Undefined(), errors.New(r.event)
	case <-ctx.Done():
		go func() { <-ch; release() }()
		return js.Undefined(), ctx.Err()
	}
}

// transaction starts a transaction on the blobs, turning the exception
// thrown by a closed database into an error.
func (a *Adapter) transaction(mode string) (tx js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = jsutil.ErrorOf(je.Value)
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	opts := map[string]any{}
	if mode == "readwrite" {
		opts["durability"] = "strict"
	}
	return a.db.Call("transaction", objectStore, mode, opts), nil
}

// Read implements adapters.Adapter.
func (a *Adapter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	tx, err := a.transaction("readonly")
	if err != nil {
		return nil, "", adapters.NewError("read", id, nil, err)
	}
	req := tx.Call("objectStore", objectStore).Call("get", id)
	if _, err := wait(ctx, req, "success", "error"); err != nil {
		return nil, "", adapters.NewError("read", id, adapters.ErrTransient, err)
	}
	rec := req.Get("result")
	if rec.IsUndefined() || rec.IsNull() {
		return nil, adapters.NoRev, adapters.NewError("read", id, adapters.ErrNotFound, nil)
	}
	data, rev, err := decode(rec)
	if err != nil {
		return nil, "", adapters.NewError("read", id, nil, err)
	}
	return data, rev, nil
}

// decode checks a record as read: it is hostile until validated, like
// any blob.
func decode(rec js.Value) ([]byte, adapters.Rev, error) {
	if rec.Type() != js.TypeObject {
		return nil, "", errors.New("the browser store holds a damaged record (not {data: Uint8Array, rev: string})")
	}
	d, r := rec.Get("data"), rec.Get("rev")
	if d.Type() != js.TypeObject || !d.InstanceOf(js.Global().Get("Uint8Array")) || r.Type() != js.TypeString || r.String() == "" {
		return nil, "", errors.New("the browser store holds a damaged record (not {data: Uint8Array, rev: string})")
	}
	if n := d.Get("length").Int(); n > adapters.MaxBlobSize {
		return nil, "", fmt.Errorf("blob of %d bytes is larger than the %d-byte limit", n, adapters.MaxBlobSize)
	}
	return jsutil.GoBytes(d), adapters.Rev(r.String()), nil
}

// Write implements adapters.Adapter: one readwrite transaction reads the
// current record, compares revisions and puts the new record.
func (a *Adapter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if len(data) > adapters.MaxBlobSize {
		return "", adapters.NewError("write", id, nil, fmt.Errorf("blob of %d bytes is larger than the %d-byte limit", len(data), adapters.MaxBlobSize))
	}
	newRev, err := newRevision()
	if err != nil {
		return "", adapters.NewError("write", id, nil, err)
	}
	tx, err := a.transaction("readwrite")
	if err != nil {
		return "", adapters.NewError("write", id, nil, err)
	}
	store := tx.Call("objectStore", objectStore)
	rec := js.Global().Get("Object").New()
	rec.Set("data", jsutil.Bytes(data))
	rec.Set("rev", string(newRev))

	conflict := false
	get := store.Call("get", id)
	// The put must be issued from the get's success handler, within the
	// same task, or the transaction commits without it.
	onGet := js.FuncOf(func(js.Value, []js.Value) any {
		cur := get.Get("result")
		curRev := adapters.NoRev
		if !cur.IsUndefined() && !cur.IsNull() {
			if cur.Type() != js.TypeObject {
				curRev = "(damaged)"
			} else if r := cur.Get("rev"); r.Type() == js.TypeString {
				curRev = adapters.Rev(r.String())
			} else {
				curRev = "(damaged)"
			}
		}
		if curRev != rev {
			conflict = true
			tx.Call("abort")
			return nil
		}
		store.Call("put", rec, id)
		return nil
	})
	get.Set("onsuccess", onGet)

	if _, err := waitThen(ctx, tx, onGet.Release, "complete", "abort", "error"); err != nil {
		if conflict {
			return "", adapters.NewError("write", id, adapters.ErrConflict, nil)
		}
		if ctx.Err() != nil {
			// The transaction may still commit; the contract says the
			// caller re-reads before trusting its revision.
			return "", adapters.NewError("write", id, adapters.ErrTransient, err)
		}
		return "", adapters.NewError("write", id, classify(err), err)
	}
	return newRev, nil
}

// classify sorts IndexedDB failures: a full quota or a closed database is
// permanent for the task; anything else may pass when tried again.
func classify(err error) error {
	var je *jsutil.JSError
	if errors.As(err, &je) {
		switch je.Name {
		case "QuotaExceededError", "InvalidStateError", "DataCloneError":
			return nil
		}
	}
	return adapters.ErrTransient
}

func newRevision() (adapters.Rev, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cannot make a revision: %w", err)
	}
	return adapters.Rev(base64.RawURLEncoding.EncodeToString(b[:])), nil
}

var _ adapters.Adapter = (*Adapter)(nil)
