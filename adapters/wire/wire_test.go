package wire_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/wire"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"Thu, 03 Dec 2026 18:00:30 GMT", 30 * time.Second, true},
		{"Thursday, 03-Dec-26 18:01:00 GMT", time.Minute, true},
		{"Thu Dec  3 18:00:05 2026", 5 * time.Second, true},
		{"Thu, 03 Dec 2026 17:00:00 GMT", 0, true}, // in the past: no wait
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
	} {
		got, ok := wire.ParseRetryAfter(tc.v, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

// TestStatusText: the reason phrases in the adapters' messages are
// net/http's, as before the adapters left net/http.
func TestStatusText(t *testing.T) {
	known := 0
	for code := 100; code < 600; code++ {
		got := wire.StatusText(code)
		if got == "" {
			continue
		}
		known++
		if want := http.StatusText(code); got != want {
			t.Errorf("StatusText(%d) = %q, net/http says %q", code, got, want)
		}
	}
	if known < 30 {
		t.Errorf("only %d codes known", known)
	}
}

func TestHeaderIsCaseInsensitive(t *testing.T) {
	h := wire.Header{}
	h.Set("Dropbox-API-Result", "x")
	if h.Get("dropbox-api-result") != "x" || h.Get("DROPBOX-API-RESULT") != "x" {
		t.Fatalf("header %v", h)
	}
}
