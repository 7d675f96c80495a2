//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/indexeddb"
	"github.com/vaultdb/vaultdb/adapters/localstorage"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/internal/entry"
	"github.com/vaultdb/vaultdb/internal/jsutil"
	"github.com/vaultdb/vaultdb/internal/otp"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// api is the state behind globalThis.vaultdb: at most one open store.
type api struct {
	mu    sync.Mutex
	store *vault.Store
	loc   string
	close func()                   // releases the open store's adapter (its lock), or nil
	mem   map[string]*memory.Store // "mem:NAME" stores, for tests
	// uses counts the calls running on each store, the open one and those
	// locked while a call still ran: a store's keys are wiped once it is
	// no longer open and no call uses it.
	uses map[*vault.Store]int
}

func newAPI() *api { return &api{mem: map[string]*memory.Store{}, uses: map[*vault.Store]int{}} }

// codedError carries a short code the page switches on.
type codedError struct {
	code string
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }
func (e *codedError) Code() string  { return e.code }

// coded gives err the code of the first engine error it matches.
func coded(err error) error {
	if err == nil {
		return nil
	}
	for _, c := range []struct {
		target error
		code   string
	}{
		{vault.ErrNotFound, "not-found"},
		{vault.ErrWrongPassphrase, "wrong-passphrase"},
		{vault.ErrNoStore, "no-store"},
		{vault.ErrStoreExists, "store-exists"},
		{vault.ErrInvalidPath, "invalid-path"},
		{vault.ErrInvalidValue, "invalid-value"},
		{vault.ErrCorrupt, "corrupt"},
		{adapters.ErrUnauthorized, "unauthorized"},
		{adapters.ErrTransient, "transient"},
		{vault.ErrTooManyConflicts, "conflicts"},
		{errLocked, "locked"},
		{localstorage.ErrInUse, "open-elsewhere"},
	} {
		if errors.Is(err, c.target) {
			return &codedError{c.code, err}
		}
	}
	return err
}

var errLocked = errors.New("the store is locked: unlock it first")

// fn wraps a Go function as a JavaScript one returning a promise.
func fn(f func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) any {
		return jsutil.Promise(func() (any, error) {
			v, err := f(args)
			return v, coded(err)
		})
	})
}

func (a *api) export() js.Value {
	o := js.Global().Get("Object").New()
	set := func(name string, f func(args []js.Value) (any, error)) { o.Set(name, fn(f)) }
	set("locate", a.locate)
	set("create", a.create)
	set("unlock", a.unlock)
	set("lock", func([]js.Value) (any, error) { a.lock(); return nil, nil })
	set("get", a.get)
	set("text", a.text)
	set("copyText", a.copyText)
	set("set", a.set)
	set("setText", a.setText)
	set("update", a.update)
	set("remove", a.remove)
	set("prune", a.prune)
	set("list", a.list)
	set("find", a.find)
	set("totp", a.totp)
	set("totpAdd", a.totpAdd)
	set("deriveKey", a.deriveKey)
	for name, f := range extraFuncs {
		set(name, f)
	}
	// Which stores this build opens: the page loads the remote build
	// (vaultdb-remote.wasm) only for a remote store.
	o.Set("remote", len(objectLocations) > 0)
	o.Set("isOpen", js.FuncOf(func(js.Value, []js.Value) any {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.store != nil
	}))
	return o
}

func str(args []js.Value, i int, what string) (string, error) {
	if i >= len(args) || args[i].Type() != js.TypeString {
		return "", fmt.Errorf("%s must be a string", what)
	}
	return args[i].String(), nil
}

// objectLocations open locations given as objects {type: ..., ...}; the
// optional ones register themselves from files built with their tag.
var objectLocations = map[string]func(js.Value) (adapters.Adapter, string, error){}

// extraFuncs are API functions of the optional locations (sign-in
// helpers), registered by the files built with their tag.
var extraFuncs = map[string]func(args []js.Value) (any, error){}

func knownLocations() string {
	s := `"idb:NAME", "ls:NAME", "mem:NAME"`
	for t := range objectLocations {
		s += `, {type: "` + t + `", ...}`
	}
	return s
}

// adapter opens the blob store of a location:
//
//	idb:NAME   the browser's IndexedDB, database "vaultdb:NAME"
//	ls:NAME    the browser's localStorage, one tab at a time
//	mem:NAME   memory, gone on reload (tests)
//
// and those of objectLocations. reopen is set by create and unlock, which
// replace the open store.
func (a *api) adapter(ctx context.Context, loc js.Value, reopen bool) (adapters.Adapter, string, error) {
	if loc.Type() == js.TypeObject {
		t := loc.Get("type")
		if t.Type() == js.TypeString {
			if open := objectLocations[t.String()]; open != nil {
				return open(loc)
			}
		}
		return nil, "", fmt.Errorf("unknown location type: this build opens %s", knownLocations())
	}
	if loc.Type() != js.TypeString {
		return nil, "", errors.New("the location must be a string or an object")
	}
	s := loc.String()
	scheme, name, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return nil, "", fmt.Errorf("location %q: use idb:NAME for a store kept in this browser", s)
	}
	switch strings.ToLower(scheme) {
	case "idb", "indexeddb":
		ad, err := indexeddb.Open(ctx, name)
		return ad, "idb:" + name, err
	case "ls", "localstorage":
		if reopen {
			// This tab holds the store's Web Lock while it has it open, so
			// opening it again (create, unlock) must close it first, or
			// it would be told the store is open elsewhere.
			a.mu.Lock()
			same := a.loc == "ls:"+name
			a.mu.Unlock()
			if same {
				a.lock()
			}
		}
		ad, err := localstorage.Open(ctx, name)
		if err != nil {
			return nil, "", err
		}
		return ad, "ls:" + name, nil
	case "mem":
		a.mu.Lock()
		defer a.mu.Unlock()
		m := a.mem[name]
		if m == nil {
			m = memory.New()
			a.mem[name] = m
		}
		return m, "mem:" + name, nil
	}
	return nil, "", fmt.Errorf("location %q: unknown scheme %q (idb:, ls:, mem:)", s, scheme)
}

func (a *api) options() vault.Options { return vault.Options{KDF: webCryptoKDF} }

func (a *api) locate(args []js.Value) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("locate(location)")
	}
	ctx := context.Background()
	ad, _, err := a.adapter(ctx, args[0], false)
	if err != nil {
		return nil, err
	}
	defer closeAdapter(ad)
	l, err := vault.Locate(ctx, ad, a.options())
	if errors.Is(err, vault.ErrNoStore) {
		return map[string]any{"exists": false}, nil
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"exists": true, "version": l.Version(), "shards": l.Shards(),
		"iterations": l.KDFParams().Iterations}, nil
}

// create(location, passphrase, {iterations, shards}) makes a new store and
// leaves it open.
func (a *api) create(args []js.Value) (any, error) {
	if len(args) < 2 {
		return nil, errors.New("create(location, passphrase, options)")
	}
	pass, err := str(args, 1, "the passphrase")
	if err != nil {
		return nil, err
	}
	co := vault.CreateOptions{Options: a.options()}
	if len(args) > 2 && args[2].Type() == js.TypeObject {
		if v := args[2].Get("iterations"); v.Type() == js.TypeNumber {
			co.Iterations = v.Int()
		}
		if v := args[2].Get("shards"); v.Type() == js.TypeNumber {
			co.Shards = v.Int()
		}
	}
	ctx := context.Background()
	ad, name, err := a.adapter(ctx, args[0], true)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	s, err := vault.Create(ctx, ad, []byte(pass), co)
	if err != nil {
		closeAdapter(ad)
		return nil, err
	}
	ms := time.Since(start).Milliseconds()
	a.opened(s, name, ad)
	return map[string]any{"location": name, "shards": s.Shards(), "millis": ms}, nil
}

// unlock(location, passphrase) opens an existing store; millis is the
// time the key derivation (and the config read) took.
func (a *api) unlock(args []js.Value) (any, error) {
	if len(args) < 2 {
		return nil, errors.New("unlock(location, passphrase)")
	}
	pass, err := str(args, 1, "the passphrase")
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	ad, name, err := a.adapter(ctx, args[0], true)
	if err != nil {
		return nil, err
	}
	l, err := vault.Locate(ctx, ad, a.options())
	if err != nil {
		closeAdapter(ad)
		return nil, err
	}
	start := time.Now()
	s, err := l.Unlock(ctx, vault.Passphrase([]byte(pass)))
	if err != nil {
		closeAdapter(ad)
		return nil, err
	}
	ms := time.Since(start).Milliseconds()
	a.opened(s, name, ad)
	return map[string]any{"location": name, "iterations": l.KDFParams().Iterations, "shards": s.Shards(), "millis": ms}, nil
}

// closeAdapter releases what an adapter holds: a localStorage store's
// lock, which other tabs wait for, and an IndexedDB connection.
func closeAdapter(ad adapters.Adapter) {
	if c, ok := ad.(interface{ Close() }); ok {
		c.Close()
	}
}

// opened makes s, on adapter ad, the open store, closing the one open
// before.
func (a *api) opened(s *vault.Store, loc string, ad adapters.Adapter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.close != nil {
		a.close()
	}
	a.retireLocked()
	a.store, a.loc, a.close = s, loc, func() { closeAdapter(ad) }
}

// lock forgets the open store and releases its adapter. Its keys are
// wiped at once, or, while a call still runs on it (which would otherwise
// encrypt with zeroed keys), when the last one returns.
func (a *api) lock() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.close != nil {
		a.close()
	}
	a.retireLocked()
	a.store, a.loc, a.close = nil, "", nil
}

// retireLocked wipes the open store's keys if no call uses it; the last
// call's release does it otherwise. a.mu is held.
func (a *api) retireLocked() {
	if a.store != nil && a.uses[a.store] == 0 {
		wipeKeys(a.store)
	}
}

// wipeKeys zeroes s's keys. (The engine's router keeps HMAC states made
// from its key in a pool, which only the garbage collector frees.)
func wipeKeys(s *vault.Store) {
	k := s.Keys()
	clear(k.Cipher)
	clear(k.Router)
}

// acquire returns the open store for a call, which must release it.
func (a *api) acquire() (*vault.Store, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.store == nil {
		return nil, errLocked
	}
	a.uses[a.store]++
	return a.store, nil
}

// release ends a call on s: the last one on a store no longer open wipes
// its keys.
func (a *api) release(s *vault.Store) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.uses[s]--; a.uses[s] > 0 {
		return
	}
	delete(a.uses, s)
	if s != a.store {
		wipeKeys(s)
	}
}

// docPath accepts "a/b" as well as "/a/b".
func docPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

func dirPath(p string) string {
	p = docPath(p)
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// task runs f in a new task on the open store.
func (a *api) task(f func(ctx context.Context, t *vault.Task) (any, error)) (any, error) {
	s, err := a.acquire()
	if err != nil {
		return nil, err
	}
	defer a.release(s)
	ctx := context.Background()
	return f(ctx, s.NewTask(ctx))
}

// withValue runs f on the value of the document args[0] names (as given,
// for messages), in a task on the open store.
func (a *api) withValue(args []js.Value, f func(p string, v []byte) (any, error)) (any, error) {
	p, err := str(args, 0, "the path")
	if err != nil {
		return nil, err
	}
	return a.task(func(ctx context.Context, t *vault.Task) (any, error) {
		v, err := t.Get(ctx, docPath(p))
		if err != nil {
			return nil, err
		}
		return f(p, v)
	})
}

// get(path) returns the document's JSON text.
func (a *api) get(args []js.Value) (any, error) {
	return a.withValue(args, func(_ string, v []byte) (any, error) { return string(v), nil })
}

// text(path[, field]) returns what "vaultdb get PATH [--field F]" prints:
// a string as its text, anything else as indented JSON.
func (a *api) text(args []js.Value) (any, error) {
	field := ""
	if len(args) > 1 && args[1].Type() == js.TypeString {
		field = args[1].String()
	}
	return a.withValue(args, func(p string, v []byte) (any, error) {
		if field != "" {
			f, ok, err := entry.GetField(v, field)
			if err != nil {
				return nil, &codedError{"no-field", fmt.Errorf("%s is %s, not an object with fields", p, entry.KindOf(v))}
			}
			if !ok {
				return nil, &codedError{"no-field", fmt.Errorf("%s has no field %q", p, field)}
			}
			v = f
		}
		out, err := entry.Text(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return string(out), nil
	})
}

// copyText(path) returns what "vaultdb get -c PATH" copies, by the same
// rule (entry.CopyValue): {text, what}, what naming the field taken; for
// an object without a "password" field {fields: [names], totp: bool}
// instead, for the page to offer the fields (and, for a TOTP entry, its
// code), as the command line's message does.
func (a *api) copyText(args []js.Value) (any, error) {
	return a.withValue(args, func(p string, v []byte) (any, error) {
		cv, field, err := entry.CopyValue(v)
		if errors.Is(err, entry.ErrNoPassword) {
			names := entry.Fields(v)
			fields := make([]any, len(names))
			for i, n := range names {
				fields[i] = n
			}
			_, terr := otp.ParseDocument(v)
			return map[string]any{"fields": fields, "totp": !errors.Is(terr, otp.ErrNotDocument)}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, vault.ErrCorrupt)
		}
		out, err := entry.Text(cv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, vault.ErrCorrupt)
		}
		what := p
		if field != "" {
			what = fmt.Sprintf("field %q of %s", field, p)
		}
		return map[string]any{"text": string(out), "what": what}, nil
	})
}

// set(path, jsonText) stores a JSON value (not null), as "vaultdb set
// --json" does.
func (a *api) set(args []js.Value) (any, error) {
	p, err := str(args, 0, "the path")
	if err != nil {
		return nil, err
	}
	v, err := str(args, 1, "the value (JSON text)")
	if err != nil {
		return nil, err
	}
	val, err := entry.ParseValue([]byte(v))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", vault.ErrInvalidValue, err)
	}
	return a.task(func(ctx context.Context, t *vault.Task) (any, error) {
		return nil, t.Set(ctx, docPath(p), val)
	})
}

// setText(path, text) stores text as a JSON string, as "vaultdb set" does.
func (a *api) setText(args []js.Value) (any, error) {
	p, err := str(args, 0, "the path")
	if err != nil {
		return nil, err
	}
	v, err := str(args, 1, "the value")
	if err != nil {
		return nil, err
	}
	b, err := entry.MarshalText([]byte(v))
	if err != nil {
		return nil, err
	}
	return a.task(func(ctx context.Context, t *vault.Task) (any, error) {
		return nil, t.Set(ctx, docPath(p), b)
	})
}

// update(path, f) sets the document to f(old JSON text or null), which
// must return JSON text synchronously. f may be called more than once
// when other clients write the same shard.
func (a *api) update(args []js.Value) (any, error) {
	p, err := str(args, 0, "the path")
	if err != nil {
		return nil, err
	}
	if len(args) < 2 || args[1].Type() != js.TypeFunction {
		return nil, errors.New("update(path, f): f must be a function")
	}
	f := args[1]
	return a.task(func(ctx context.Context, t *vault.Task) (any, error) {
		return nil, t.Update(ctx, docPath(p), func(old json.RawMessage) (json.RawMessage, error) {
			var in any
			if old != nil {
				in = string(old)
			}
			out, err := call(f, in)
			if err != nil {
				return nil, err
			}
			if out.Type() != js.TypeString || !json.Valid([]byte(out.String())) {
				return nil, fmt.Errorf("%w: update's function must return JSON text", vault.ErrInvalidValue)
			}
			return json.RawMessage(out.String()), nil
		})
	})
}

// call calls a JavaScript function, turning an exception into an error.
func call(f js.Value, args ...any) (v js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = jsutil.ErrorOf(je.Value)
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	return f.Invoke(args...), nil
}

func (a *api) remove(args []js.Value) (any, error) {
	p, err := str(args, 0, "the path")
	if err != nil {
		return nil, err
	}
	return a.task(func(ctx context.Context, t *vault.Task) (any, error) {
		return nil, t.Remove(ctx, docPath(p))
	})
}

// prune(dir) removes a directory and everything below it.
func (a *api) prune(args []js.Value) (any, error) {
	p, err := str(args, 0, "the directory")
	if err != nil {
		return nil, err
	}
	return a.task(func(ctx context.Context, t *vault.Task) (any, error) {
		return nil, t.Prune(ctx, dirPath(p))
	})
}

func strings2any(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// list(dir) returns the names in a directory ("name/" for directories).
func (a *api) list(args []js.Value) (any, error) {
	d := "/"
	if len(args) > 0 && args[0].Type() == js.TypeString {
		d = dirPath(args[0].String())
	}
	return a.task(func(ctx context.Context, t *vault.Task) (any, error) {
		names, err := t.List(ctx, d)
		return strings2any(names), err
	})
}

// find(dir) returns every document path below dir.
func (a *api) find(args []js.Value) (any, error) {
	d := "/"
	if len(args) > 0 && args[0].Type() == js.TypeString {
		d = dirPath(args[0].String())
	}
	return a.task(func(ctx context.Context, t *vault.Task) (any, error) {
		paths, err := t.Find(ctx, d)
		if errors.Is(err, vault.ErrNotFound) && d == "/" {
			return []any{}, nil
		}
		return strings2any(paths), err
	})
}

// totp(path[, unixMillis]) returns the entry's current code and the
// seconds it has left.
func (a *api) totp(args []js.Value) (any, error) {
	p, err := str(args, 0, "the path")
	if err != nil {
		return nil, err
	}
	at := time.Now()
	if len(args) > 1 && args[1].Type() == js.TypeNumber {
		at = time.UnixMilli(int64(args[1].Float()))
	}
	return a.task(func(ctx context.Context, t *vault.Task) (any, error) {
		v, err := t.Get(ctx, docPath(p))
		if err != nil {
			return nil, err
		}
		k, err := otp.FromDocument(v)
		if errors.Is(err, otp.ErrNotDocument) {
			return nil, &codedError{"not-totp", fmt.Errorf("%s is not a TOTP entry", p)}
		}
		if err != nil {
			return nil, fmt.Errorf("%s is a damaged TOTP entry: %w", p, err)
		}
		code, err := k.Code(at)
		if err != nil {
			return nil, err
		}
		return map[string]any{"code": code, "remaining": k.Remaining(at), "period": k.Period,
			"digits": k.Digits, "issuer": k.Issuer, "account": k.Account}, nil
	})
}

// totpAdd(path, uriOrSecret) stores a TOTP entry as "vaultdb totp add"
// does.
func (a *api) totpAdd(args []js.Value) (any, error) {
	p, err := str(args, 0, "the path")
	if err != nil {
		return nil, err
	}
	s, err := str(args, 1, "the otpauth:// URI or base32 secret")
	if err != nil {
		return nil, err
	}
	s = strings.TrimSpace(s)
	var k otp.Key
	if otp.IsURI(s) {
		k, err = otp.ParseURI(s)
	} else {
		k, err = otp.NewKey(s)
	}
	if err != nil {
		return nil, err
	}
	doc, err := otp.Document(k)
	if err != nil {
		return nil, err
	}
	return a.task(func(ctx context.Context, t *vault.Task) (any, error) {
		return nil, t.Set(ctx, docPath(p), doc)
	})
}

// deriveKey(passphrase, iterations, "webcrypto" | "go") times one key
// derivation with a fixed salt, for the unlock-time measurement.
func (a *api) deriveKey(args []js.Value) (any, error) {
	pass, err := str(args, 0, "the passphrase")
	if err != nil {
		return nil, err
	}
	if len(args) < 2 || args[1].Type() != js.TypeNumber {
		return nil, errors.New("deriveKey(passphrase, iterations, engine)")
	}
	kdf := webCryptoKDF
	if len(args) > 2 && args[2].Type() == js.TypeString && args[2].String() == "go" {
		kdf = format.PBKDF2
	}
	p := format.KDFParams{Salt: make([]byte, 32), Iterations: args[1].Int()}
	start := time.Now()
	k, err := kdf(context.Background(), []byte(pass), p)
	if err != nil {
		return nil, err
	}
	clear(k)
	return float64(time.Since(start).Microseconds()) / 1000, nil
}
