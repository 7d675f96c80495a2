//go:build js && wasm

package indexeddb

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall/js"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/internal/jsutil"
)

// These tests run in a browser: web/browser_test.go compiles them with
// "go test -c" for GOOS=js and runs the binary in headless Chromium.

var dbs atomic.Int64

func TestContract(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		name := fmt.Sprintf("contract-%d-%d", time.Now().UnixNano(), dbs.Add(1))
		a, err := Open(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			a.Close()
			js.Global().Get("indexedDB").Call("deleteDatabase", DBPrefix+name)
		})
		return a
	})
}

// A record another program put in the database is refused with a clear
// error, not decoded as a blob.
func TestDamagedRecord(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("damaged-%d", time.Now().UnixNano())
	a, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tx, err := a.transaction("readwrite")
	if err != nil {
		t.Fatal(err)
	}
	tx.Call("objectStore", objectStore).Call("put", "not a record", "config")
	if _, err := wait(ctx, tx, "complete", "abort", "error"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Read(ctx, "config"); err == nil {
		t.Fatal("a damaged record read without error")
	}
	// A write over it is a conflict for every revision but its own (it
	// has none), so nothing overwrites it blindly.
	if _, err := a.Write(ctx, "config", []byte("x"), adapters.NoRev); err == nil {
		t.Fatal("a create over a damaged record succeeded")
	}
}

// The promise helpers: a rejection is an error with the JS message.
func TestAwaitRejection(t *testing.T) {
	p := js.Global().Get("Promise").Call("reject", js.Global().Get("Error").New("boom"))
	if _, err := jsutil.Await(context.Background(), p); err == nil || err.Error() != "Error: boom" {
		t.Fatalf("Await of a rejected promise: %v", err)
	}
}
