//go:build js && wasm

package localstorage

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/internal/jsutil"
)

// LockPrefix and KeyPrefix name the Web Lock of store NAME
// (LockPrefix+NAME) and its items (KeyPrefix+NAME+":"+id).
const (
	LockPrefix = "vaultdb-localstorage:"
	KeyPrefix  = "vaultdb:"
)

// ErrInUse is the cause of Open failing because another tab or window of
// the same site has the store open.
var ErrInUse = errors.New("the store is open in another tab or window: lock it there first")

// ErrClosed is the cause of a call after Close.
var ErrClosed = errors.New("the store was closed")

// Adapter is a store in localStorage, open in this tab only. Create it with
// Open; Close releases it for other tabs.
type Adapter struct {
	name    string
	storage js.Value

	mu       sync.Mutex
	closed   bool
	release  js.Value      // resolves the promise that holds the lock
	released chan struct{} // closed once the browser has let the lock go
}

// Open takes the store's lock, failing with ErrInUse when another tab
// holds it, and returns the store.
func Open(ctx context.Context, name string) (*Adapter, error) {
	if name == "" {
		return nil, errors.New("a localStorage store needs a name")
	}
	storage := js.Global().Get("localStorage")
	if storage.IsUndefined() || storage.IsNull() {
		return nil, errors.New("this page has no localStorage")
	}
	nav := js.Global().Get("navigator")
	if nav.IsUndefined() || nav.Get("locks").IsUndefined() {
		return nil, errors.New("this browser has no Web Locks (navigator.locks), which a localStorage store needs to keep to one writer: use IndexedDB")
	}
	a := &Adapter{name: name, storage: storage, released: make(chan struct{})}
	got := make(chan bool, 1)
	var hold, executor js.Func
	hold = js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].IsNull() {
			got <- false
			return nil
		}
		// Returning a promise that settles only at Close holds the lock.
		executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
			a.release = args[0]
			return nil
		})
		p := js.Global().Get("Promise").New(executor)
		got <- true
		return p
	})
	opts := map[string]any{"mode": "exclusive", "ifAvailable": true}
	done := nav.Get("locks").Call("request", LockPrefix+name, opts, hold)
	// The request settles when the lock is released (at once when it was
	// not available); only then may the callbacks go.
	go func() {
		jsutil.Await(context.Background(), done)
		close(a.released)
		hold.Release()
		if executor.Truthy() {
			executor.Release()
		}
	}()
	select {
	case ok := <-got:
		if !ok {
			return nil, fmt.Errorf("localStorage store %q: %w", name, ErrInUse)
		}
		return a, nil
	case <-ctx.Done():
		// The lock may still come: give it back when it does.
		go func() {
			if <-got {
				a.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// Name returns the store's name.
func (a *Adapter) Name() string { return a.name }

// Close releases the store's lock and waits (up to 5 s) until the browser
// has let it go, so that another tab told "lock it there first" can open
// the store as soon as the lock is done; further calls fail with
// ErrClosed. It must not be called from a JavaScript callback.
func (a *Adapter) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.closed = true
	a.release.Invoke()
	select {
	case <-a.released:
	case <-time.After(5 * time.Second):
	}
}

func (a *Adapter) key(id string) string { return KeyPrefix + a.name + ":" + id }

type record struct {
	Rev  string `json:"rev"`
	Data []byte `json:"data"` // base64 in JSON
}

// get reads and validates the record of id; the caller holds a.mu.
func (a *Adapter) get(id string) (*record, error) {
	v := a.storage.Call("getItem", a.key(id))
	if v.IsNull() {
		return nil, adapters.NewError("read", id, adapters.ErrNotFound, nil)
	}
	s := v.String()
	if base64.StdEncoding.DecodedLen(len(s)) > adapters.MaxBlobSize+1024 {
		return nil, adapters.NewError("read", id, nil, adapters.ErrBlobTooLarge)
	}
	var r record
	if err := json.Unmarshal([]byte(s), &r); err != nil || r.Rev == "" {
		return nil, adapters.NewError("read", id, nil, fmt.Errorf("the localStorage item %q is not a vaultdb record (damaged, or written by another program)", a.key(id)))
	}
	return &r, nil
}

func (a *Adapter) open(op, id string) error {
	if a.closed {
		return adapters.NewError(op, id, nil, ErrClosed)
	}
	return nil
}

// Read implements adapters.Adapter.
func (a *Adapter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.open("read", id); err != nil {
		return nil, "", err
	}
	r, err := a.get(id)
	if err != nil {
		return nil, "", err
	}
	return r.Data, adapters.Rev(r.Rev), nil
}

// Write implements adapters.Adapter.
func (a *Adapter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(data) > adapters.MaxBlobSize {
		return "", adapters.NewError("write", id, nil, adapters.ErrBlobTooLarge)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.open("write", id); err != nil {
		return "", err
	}
	cur, err := a.get(id)
	switch {
	case errors.Is(err, adapters.ErrNotFound):
		if rev != adapters.NoRev {
			return "", adapters.NewError("write", id, adapters.ErrConflict, nil)
		}
	case err != nil:
		return "", err
	case adapters.Rev(cur.Rev) != rev:
		return "", adapters.NewError("write", id, adapters.ErrConflict, nil)
	}
	var b [16]byte
	rand.Read(b[:])
	next := hex.EncodeToString(b[:])
	enc, err := json.Marshal(record{Rev: next, Data: data})
	if err != nil {
		return "", err
	}
	if err := setItem(a.storage, a.key(id), string(enc)); err != nil {
		return "", adapters.NewError("write", id, nil, err)
	}
	return adapters.Rev(next), nil
}

// setItem stores an item, turning the browser's exception (the quota
// exceeded) into an error.
func setItem(storage js.Value, key, value string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = fmt.Errorf("localStorage refused the write (full?): %w", jsutil.ErrorOf(je.Value))
				return
			}
			panic(r)
		}
	}()
	storage.Call("setItem", key, value)
	return nil
}
