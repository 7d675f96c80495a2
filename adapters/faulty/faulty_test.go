package faulty_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/faulty"
	"github.com/vaultdb/vaultdb/adapters/memory"
)

func TestContractNoFaults(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return faulty.New(memory.New(), faulty.Options{})
	})
}

func TestContractDisabled(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		a := faulty.New(memory.New(), faulty.Options{ReadError: 1, WriteErrorBefore: 1, WriteConflict: 1, FailAfter: 1})
		a.SetEnabled(false)
		return a
	})
}

var ctx = context.Background()

func TestReadError(t *testing.T) {
	store := memory.New()
	store.Set("x", []byte("x"))
	a := faulty.New(store, faulty.Options{ReadError: 0.5, Seed: 1})
	failed := 0
	for range 1000 {
		_, _, err := a.Read(ctx, "x")
		if err != nil {
			if !errors.Is(err, adapters.ErrTransient) || !errors.Is(err, faulty.ErrInjected) {
				t.Fatalf("injected read error %v does not match ErrTransient and ErrInjected", err)
			}
			failed++
		}
	}
	c := a.Counts()
	if c.ReadErrors != failed || c.Requests != 1000 || c.Injected() != failed {
		t.Fatalf("Counts() = %+v, but %d reads failed", c, failed)
	}
	if failed < 400 || failed > 600 {
		t.Fatalf("%d of 1000 reads failed with probability 0.5", failed)
	}
}

func TestWriteErrorBefore(t *testing.T) {
	store := memory.New()
	a := faulty.New(store, faulty.Options{WriteErrorBefore: 1})
	_, err := a.Write(ctx, "x", []byte("x"), adapters.NoRev)
	if !errors.Is(err, adapters.ErrTransient) || !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Write = %v", err)
	}
	if len(store.Blobs()) != 0 {
		t.Fatal("a write that failed before reaching the store was written")
	}
	if c := a.Counts(); c.WriteErrorsBefore != 1 || c.Injected() != 1 {
		t.Fatalf("Counts() = %+v", c)
	}
}

func TestWriteErrorAfter(t *testing.T) {
	store := memory.New()
	a := faulty.New(store, faulty.Options{WriteErrorAfter: 1})
	_, err := a.Write(ctx, "x", []byte("x"), adapters.NoRev)
	if !errors.Is(err, adapters.ErrTransient) || !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Write = %v", err)
	}
	if got := string(store.Blobs()["x"]); got != "x" {
		t.Fatalf("a write that failed after reaching the store was not written: %q", got)
	}
	// A write the store itself rejects is reported as is.
	if _, err := a.Write(ctx, "x", []byte("y"), adapters.NoRev); !errors.Is(err, adapters.ErrConflict) {
		t.Fatalf("Write = %v, want the store's conflict", err)
	}
	if c := a.Counts(); c.WriteErrorsAfter != 1 || c.Injected() != 1 {
		t.Fatalf("Counts() = %+v", c)
	}
}

func TestWriteConflict(t *testing.T) {
	store := memory.New()
	a := faulty.New(store, faulty.Options{WriteConflict: 1})
	_, err := a.Write(ctx, "x", []byte("x"), adapters.NoRev)
	if !errors.Is(err, adapters.ErrConflict) || !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Write = %v", err)
	}
	if len(store.Blobs()) != 0 {
		t.Fatal("a spurious conflict was written")
	}
	if c := a.Counts(); c.Conflicts != 1 {
		t.Fatalf("Counts() = %+v", c)
	}
}

func TestFailAfter(t *testing.T) {
	a := faulty.New(memory.New(), faulty.Options{FailAfter: 3})
	var got []bool
	for i := range 6 {
		var err error
		if i%2 == 0 {
			_, err = a.Write(ctx, fmt.Sprint(i), nil, adapters.NoRev)
		} else {
			_, _, err = a.Read(ctx, fmt.Sprint(i-1))
		}
		if err != nil && !errors.Is(err, adapters.ErrTransient) {
			t.Fatalf("request %d: %v", i+1, err)
		}
		got = append(got, err == nil)
	}
	if fmt.Sprint(got) != "[true true true false false false]" {
		t.Fatalf("successes %v, want the first 3 only", got)
	}
	if c := a.Counts(); c.FailedAfter != 3 || c.Requests != 6 {
		t.Fatalf("Counts() = %+v", c)
	}
	a.SetEnabled(false)
	if _, _, err := a.Read(ctx, "0"); err != nil {
		t.Fatalf("Read with injection off: %v", err)
	}
}

func TestSwitch(t *testing.T) {
	a := faulty.New(memory.New(), faulty.Options{ReadError: 1, WriteErrorBefore: 1})
	if !a.Enabled() {
		t.Fatal("injection starts disabled")
	}
	a.SetEnabled(false)
	if _, err := a.Write(ctx, "x", []byte("x"), adapters.NoRev); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Read(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	a.SetEnabled(true)
	if _, _, err := a.Read(ctx, "x"); !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Read with injection on: %v", err)
	}
	if c := a.Counts(); c.Injected() != 1 || c.Requests != 3 {
		t.Fatalf("Counts() = %+v", c)
	}
}

func TestSeeded(t *testing.T) {
	pattern := func(seed uint64) string {
		a := faulty.New(memory.New(), faulty.Options{Seed: seed, ReadError: 0.3})
		var b []byte
		for range 64 {
			_, _, err := a.Read(ctx, "x")
			b = append(b, "nx"[btoi(errors.Is(err, faulty.ErrInjected))])
		}
		return string(b)
	}
	if first, again := pattern(1), pattern(1); first != again {
		t.Fatal("same seed, different faults")
	}
	if pattern(1) == pattern(2) {
		t.Fatal("different seeds, same faults")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
