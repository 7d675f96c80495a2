package format

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"errors"
	"testing"
)

// A KDF plugged in from outside (as a browser build plugs in WebCrypto)
// makes configs the built-in one unlocks, and the other way round.
func TestPluggedKDF(t *testing.T) {
	calls := 0
	outside := func(ctx context.Context, pass []byte, p KDFParams) ([]byte, error) {
		calls++
		return pbkdf2.Key(sha256.New, string(NormalizePassphrase(pass)), p.Salt, p.Iterations, 32)
	}
	ctx := context.Background()
	pass := []byte("cafe\u0301")
	c, keys, err := NewConfigKDF(ctx, outside, testRand(7), pass, testIterations, 2)
	if err != nil || calls != 1 {
		t.Fatalf("NewConfigKDF: %v (%d calls)", err, calls)
	}
	got, err := c.Unlock([]byte("caf\u00e9"))
	if err != nil || !bytes.Equal(got.Cipher, keys.Cipher) || !bytes.Equal(got.Router, keys.Router) {
		t.Fatalf("built-in Unlock of a config made with the plugged KDF: %v", err)
	}
	p := c.KDFParams()
	if p.Iterations != testIterations || len(p.Salt) != saltSize {
		t.Fatalf("KDFParams = %d iterations, %d-byte salt", p.Iterations, len(p.Salt))
	}
	pk, _ := outside(ctx, pass, p)
	if got, err := c.UnlockKey(pk); err != nil || !bytes.Equal(got.Cipher, keys.Cipher) {
		t.Fatalf("UnlockKey: %v", err)
	}
	pk[0] ^= 1
	if _, err := c.UnlockKey(pk); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("UnlockKey with a wrong key: %v", err)
	}
	if _, err := c.UnlockKey(pk[:16]); err == nil {
		t.Fatal("UnlockKey took a short key")
	}
	n, err := c.RewrapKDF(ctx, outside, testRand(8), keys, []byte("new"), 0)
	if err != nil || calls != 3 {
		t.Fatalf("RewrapKDF: %v (%d calls)", err, calls)
	}
	if _, err := n.Unlock([]byte("new")); err != nil {
		t.Fatalf("built-in Unlock after RewrapKDF: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := PBKDF2(cancelled, pass, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("PBKDF2 with a cancelled context: %v", err)
	}
}
