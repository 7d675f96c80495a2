package format

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The PBKDF2 written out here (so that it can be interrupted) agrees with
// the standard library's for any input.
func TestPBKDF2MatchesStandardLibrary(t *testing.T) {
	for i, c := range []struct {
		pw, salt string
		iter     int
	}{
		{"", "", 1}, {"password", "salt", 1}, {"password", "salt", 2}, {"password", "salt", 4095},
		{"password", "salt", 4096}, {"password", "salt", 4097}, {strings.Repeat("long", 40), "NaCl", 10000},
		{"pässwörd", strings.Repeat("s", 200), 8193},
	} {
		want, err := pbkdf2.Key(sha256.New, c.pw, []byte(c.salt), c.iter, 32)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pbkdf2SHA256(context.Background(), []byte(c.pw), []byte(c.salt), c.iter)
		if err != nil || fmt.Sprintf("%x", got) != fmt.Sprintf("%x", want) {
			t.Errorf("case %d: %x, %v; want %x", i, got, err, want)
		}
	}
}

// A config may ask for at most MaxIterations: more is refused before any
// work, as an altered config.
func TestConfigIterationsCap(t *testing.T) {
	for _, n := range []string{"10000001", "1000000000000", "9223372036854775807"} {
		data := strings.Replace(validConfig, `"iterations": 1000`, `"iterations": `+n, 1)
		if data == validConfig {
			t.Fatal("validConfig has no iterations 1000")
		}
		start := time.Now()
		_, err := ParseConfig([]byte(data))
		if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), "password.iterations") || !strings.Contains(err.Error(), "10000000") {
			t.Errorf("iterations %s: %v", n, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("iterations %s: refused after %v", n, d)
		}
	}
	data := strings.Replace(validConfig, `"iterations": 1000`, `"iterations": 10000000`, 1)
	if c, err := ParseConfig([]byte(data)); err != nil || c.Iterations() != MaxIterations {
		t.Errorf("MaxIterations refused: %v", err)
	}
	keys := &Keys{Cipher: make([]byte, 32), Router: make([]byte, 64)}
	if _, _, err := NewConfig(nil, []byte("pw"), MaxIterations+1, 1); err == nil {
		t.Error("NewConfig accepted MaxIterations+1")
	}
	c, _, err := NewConfig(testRand(1), []byte("pw"), testIterations, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rewrap(nil, keys, []byte("pw"), MaxIterations+1); err == nil {
		t.Error("Rewrap accepted MaxIterations+1")
	}
}

// Key derivation stops soon after its context is done, with the context's
// error, even at the largest iteration count.
func TestKeyDerivationInterruptible(t *testing.T) {
	data := strings.Replace(validConfig, `"iterations": 1000`, `"iterations": 10000000`, 1)
	c, err := ParseConfig([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err = c.UnlockContext(ctx, []byte("pw"))
	d := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("UnlockContext = %v, want context.Canceled", err)
	}
	if d > 500*time.Millisecond {
		t.Errorf("UnlockContext returned %v after it was cancelled at 20ms", d)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, _, err := NewConfigContext(ctx, nil, []byte("pw"), MaxIterations, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("NewConfigContext = %v", err)
	}
}

func BenchmarkPBKDF2(b *testing.B) {
	b.Run("own", func(b *testing.B) {
		for b.Loop() {
			pbkdf2SHA256(context.Background(), []byte("password"), []byte("salt"), 10000)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			pbkdf2.Key(sha256.New, "password", []byte("salt"), 10000, 32)
		}
	})
}

// Deriving a key leaves the caller's passphrase as it was (it is wiped by
// its owner, not here).
func TestDeriveKeyKeepsPassphrase(t *testing.T) {
	for _, p := range []string{"already NFKD", "cafe\u0301", "café", "ﬁ"} {
		pass := []byte(p)
		c, _, err := NewConfig(testRand(1), pass, testIterations, 1)
		if err != nil || string(pass) != p {
			t.Fatalf("NewConfig changed the passphrase %q to %q (%v)", p, pass, err)
		}
		if _, err := c.Unlock(pass); err != nil || string(pass) != p {
			t.Fatalf("Unlock(%q): %v, passphrase now %q", p, err, pass)
		}
	}
}
