package memory_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/memory"
)

func TestContract(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter { return memory.New() })
}

func TestSetBlobsDelete(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	r1, err := s.Write(ctx, "config", []byte("cfg"), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}

	planted := []byte("corrupted")
	r2 := s.Set("config", planted)
	planted[0] = 'X'
	if r2 == r1 {
		t.Fatal("Set did not change the revision")
	}
	if _, err := s.Write(ctx, "config", []byte("new"), r1); !errors.Is(err, adapters.ErrConflict) {
		t.Fatalf("write with the revision from before Set: %v, want conflict", err)
	}
	data, rev, err := s.Read(ctx, "config")
	if err != nil || rev != r2 || string(data) != "corrupted" {
		t.Fatalf("Read after Set = %q, %q, %v", data, rev, err)
	}

	blobs := s.Blobs()
	if len(blobs) != 1 || !bytes.Equal(blobs["config"], []byte("corrupted")) {
		t.Fatalf("Blobs() = %q", blobs)
	}
	blobs["config"][0] = 'X'
	if got := s.Blobs()["config"]; string(got) != "corrupted" {
		t.Fatalf("Blobs() snapshot shares memory with the store: %q", got)
	}

	s.Delete("config")
	if _, _, err := s.Read(ctx, "config"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("Read after Delete: %v", err)
	}
	// A blob created again never gets back a revision seen before.
	r3, err := s.Write(ctx, "config", []byte("cfg"), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	if r3 == r1 || r3 == r2 {
		t.Fatalf("recreated blob reused revision %q", r3)
	}
}

func TestSameContentNewRev(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	r1, _ := s.Write(ctx, "a", []byte("x"), adapters.NoRev)
	r2, err := s.Write(ctx, "a", []byte("x"), r1)
	if err != nil {
		t.Fatal(err)
	}
	if r1 == r2 {
		t.Fatal("rewriting the same content kept the revision")
	}
}

func TestEmptyID(t *testing.T) {
	s := memory.New()
	if _, err := s.Write(context.Background(), "", nil, adapters.NoRev); err == nil {
		t.Fatal("write of empty id succeeded")
	}
}
