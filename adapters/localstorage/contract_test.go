//go:build js && wasm

package localstorage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall/js"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
)

// These tests run in a browser: web/browser_test.go compiles them with
// "go test -c" for GOOS=js and runs the binary in headless Chromium. (Two
// tabs are tested there too, with the page.)

var n atomic.Int64

func fresh(t *testing.T) string {
	name := fmt.Sprintf("t%d-%d", time.Now().UnixNano(), n.Add(1))
	t.Cleanup(func() {
		ls := js.Global().Get("localStorage")
		for i := ls.Get("length").Int() - 1; i >= 0; i-- {
			if k := ls.Call("key", i).String(); strings.HasPrefix(k, KeyPrefix+name+":") {
				ls.Call("removeItem", k)
			}
		}
	})
	return name
}

func TestContract(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		a, err := Open(context.Background(), fresh(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		return a
	})
}

// One writer: a second Open of the same store fails at once while the
// first holds it, and succeeds after Close; a closed store refuses calls.
func TestSingleWriter(t *testing.T) {
	ctx := context.Background()
	name := fresh(t)
	a, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(ctx, "config", []byte("c"), adapters.NoRev); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, name); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open while the first is open: %v", err)
	}
	other, err := Open(ctx, name+"-other")
	if err != nil {
		t.Fatalf("another store is not locked by this one: %v", err)
	}
	other.Close()
	a.Close()
	if _, _, err := a.Read(ctx, "config"); !errors.Is(err, ErrClosed) {
		t.Errorf("read after Close: %v", err)
	}
	b, err := Open(ctx, name)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer b.Close()
	if d, _, err := b.Read(ctx, "config"); err != nil || string(d) != "c" {
		t.Errorf("read back %q, %v", d, err)
	}
}

// An item another program put under the store's prefix is refused with
// an error naming it, not decoded as a blob.
func TestDamagedItem(t *testing.T) {
	ctx := context.Background()
	name := fresh(t)
	a, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	js.Global().Get("localStorage").Call("setItem", KeyPrefix+name+":config", "not a record")
	if _, _, err := a.Read(ctx, "config"); err == nil || !strings.Contains(err.Error(), "not a vaultdb record") {
		t.Fatalf("a damaged item: %v", err)
	}
	if _, err := a.Write(ctx, "config", []byte("x"), adapters.NoRev); err == nil {
		t.Fatal("a write over a damaged item succeeded")
	}
}
