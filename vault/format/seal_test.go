package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSealRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	sh := EmptyShard()
	sh.Set("/a", []byte(`"x"`))
	sh.Set("/", []byte(`["a"]`))
	data, err := sh.Encode(nil, key)
	if err != nil {
		t.Fatal(err)
	}
	seal, err := NewSeal(nil, 8, time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, frozen := range [][]byte{data, nil} {
		blob, err := EncodeSeal(nil, seal, frozen)
		if err != nil {
			t.Fatal(err)
		}
		// The second line is the marker, where a reader expects the index.
		if lines := strings.Split(string(blob), "\n"); lines[1] != "moved" {
			t.Fatalf("second line %q", lines[1])
		}
		got, back, err := ParseSealed("shard-x", blob)
		if err != nil || got == nil || *got != seal {
			t.Fatalf("ParseSealed: %+v, %v", got, err)
		}
		if frozen == nil {
			if back != nil {
				t.Fatalf("an empty seal gave back %q", back)
			}
		} else {
			again, err := ParseShard("shard-x", back, key)
			if err != nil || !again.SameContent(sh) {
				t.Fatalf("frozen shard: %v", err)
			}
		}
		var me *MovedError
		if _, err := ParseShard("shard-x", blob, key); !errors.As(err, &me) || me.Seal != seal || !errors.Is(err, ErrMoved) {
			t.Fatalf("ParseShard of a seal: %v", err)
		}
	}
	if s, frozen, err := ParseSealed("shard-x", data); s != nil || frozen != nil || err != nil {
		t.Fatalf("a live shard read as sealed: %+v %v", s, err)
	}
}

// TestHostileSeals: a seal header or marker that is not exactly right is a
// damaged shard naming the blob, never a panic and never a live shard.
func TestHostileSeals(t *testing.T) {
	const id = `"0123456789abcdef0123456789abcdef"`
	for _, c := range []string{
		`{"version":1,"moved":{}}` + "\nmoved",
		`{"version":1,"moved":null}` + "\nmoved",
		`{"version":1,"moved":[]}` + "\nmoved",
		`{"version":1,"moved":{"id":"xyz","to":8,"at":"2026-12-03T12:00:00Z"}}` + "\nmoved",
		`{"version":1,"moved":{"id":` + id + `,"to":0,"at":"2026-12-03T12:00:00Z"}}` + "\nmoved",
		`{"version":1,"moved":{"id":` + id + `,"to":65537,"at":"2026-12-03T12:00:00Z"}}` + "\nmoved",
		`{"version":1,"moved":{"id":` + id + `,"to":8,"at":"yesterday"}}` + "\nmoved",
		`{"version":1,"moved":{"id":` + id + `,"to":8,"at":"2026-12-03T12:00:00Z","keys":"` + strings.Repeat("A", 2000) + `"}}` + "\nmoved",
		`{"version":1,"moved":{"id":` + id + `,"to":8,"at":"2026-12-03T12:00:00Z","keys":"AAAA"}}` + "\nmoved",
		`{"version":1,"moved":{"id":` + id + `,"to":8,"at":"2026-12-03T12:00:00Z","keys":"AAAA","salt":"AAAA","iterations":1000}}` + "\nmoved",
		`{"version":1,"moved":{"id":` + id + `,"to":8,"at":"2026-12-03T12:00:00Z","keys":"AAAA","salt":"` + strings.Repeat("A", 43) + `=","iterations":1000000000000}}` + "\nmoved",
		`{"version":1,"moved":{"id":` + id + `,"to":8,"at":"2026-12-03T12:00:00Z"}}` + "\nindex",
		`{"version":1,"moved":{"id":` + id + `,"to":8,"at":"2026-12-03T12:00:00Z"}}`,
	} {
		_, _, err := ParseSealed("shard-0000-ffff", []byte(c))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "shard-0000-ffff") {
			t.Errorf("%q: %v", c, err)
		}
	}
	if _, err := OpenSealKeys(bytes.Repeat([]byte{1}, 32), "AAAA"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("OpenSealKeys of garbage: %v", err)
	}
}

func TestRerouteRefusesDuplicates(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	a, b := EmptyShard(), EmptyShard()
	a.Set("/x", []byte(`1`))
	b.Set("/x", []byte(`2`))
	for _, s := range []*Shard{a, b} {
		data, _ := s.Encode(nil, key)
		p, err := ParseShard("s", data, key)
		if err != nil {
			t.Fatal(err)
		}
		*s = *p
	}
	if _, err := Reroute([]*Shard{a, b}, []string{"n"}, func(int, string) int { return 0 }); err == nil {
		t.Fatal("a path in two parts was accepted")
	}
	out, err := Reroute([]*Shard{a, b}, []string{"n", "m"}, func(part int, _ string) int { return part*2 - 1 })
	if err != nil || out[0].Len() != 0 || out[1].Len() != 1 {
		t.Fatalf("route -1 and 1: %v", err)
	}
}
