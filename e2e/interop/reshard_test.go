package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/vault"
)

// TestReshardAgainstReference moves a store to another shard count with
// the vaultdb binary while reference and vaultdb processes increment one
// counter in it. Every increment acknowledged by either implementation is
// in the store afterwards (those that ran into the sealed old layout
// failed, and said so); the reference then opens the new layout, reads
// everything and writes to it.
func TestReshardAgainstReference(t *testing.T) {
	ref := reference(t)
	const doc = "/c/n"
	// The workers would go on for long: they are stopped once the
	// reshard is done and the vaultdb worker has run into the seal (from
	// then on no worker of the old layout can write, so stopping one loses
	// no write that might still land).
	incs := "1000000"
	dir := newStore(t, 2)
	refInc(t, ref, dir, "/kept/before", 3)

	ps := []*proc{
		startRef(t, ref, dir, "counter", doc, incs),
		startRef(t, ref, dir, "counter", doc, incs),
		goWorker(t, dir, "counter "+doc+" "+incs),
	}
	waitAcks(t, ps[0], 5)
	code, out := vaultdbCLI(t, dir, "reshard", "5")
	if code != 0 {
		t.Fatalf("reshard: exit %d: %s", code, out)
	}
	t.Logf("reshard: %s", strings.TrimSpace(out))
	goW := ps[2]
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		goW.mu.Lock()
		n := count(goW.lines, "err")
		goW.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the vaultdb worker did not run into the sealed old layout within a minute of the reshard: %s", goW.errb.String())
		}
	}
	for _, p := range ps {
		p.cmd.Process.Kill()
	}

	acks, refused := 0, 0
	for _, p := range ps {
		lines := p.wait(t, true)
		acks += count(lines, "ack")
		// The reference cannot decrypt a sealed shard's marker line; its
		// operation then never settles (node reports an unhandled
		// rejection) and the worker's process ends with that operation
		// unacknowledged: it wrote nothing.
		t.Logf("%s: %d lines, %d acknowledged; stderr: %s", p.name, len(lines), count(lines, "ack"), firstLine(p.errb.String()))
		first := true
		for _, l := range lines {
			if strings.HasPrefix(l, "err") {
				if first {
					t.Logf("%s, after the seal: %s", p.name, l)
					first = false
				}
				refused++
			}
		}
	}

	st := decode(t, dir)
	if st.Shards != 5 {
		t.Fatalf("the store has %d shards after the reshard, want 5", st.Shards)
	}
	var got int
	if err := json.Unmarshal(st.Docs[doc], &got); err != nil {
		t.Fatalf("%s = %s: %v", doc, st.Docs[doc], err)
	}
	if got != acks {
		t.Fatalf("counter is %d after %d acknowledged increments (%d refused after the seal)", got, acks, refused)
	}
	t.Logf("%d increments acknowledged before the seal, %d refused by it, counter %d", acks, refused, got)

	// A new reference process opens the new layout: it reads what the
	// reshard moved and writes to it.
	dump := refDump(t, ref, dir)
	if string(dump["/kept/before"]) != "3" || string(dump[doc]) != strconv.Itoa(got) {
		t.Fatalf("the reference reads %s=%s and %s=%s", "/kept/before", dump["/kept/before"], doc, dump[doc])
	}
	refInc(t, ref, dir, doc, 5)
	if code, out := vaultdbCLI(t, dir, "get", "c/n"); code != 0 || strings.TrimSpace(out) != strconv.Itoa(got+5) {
		t.Fatalf("vaultdb get after the reference's writes: exit %d, %q; want %d", code, out, got+5)
	}
	if code, out := vaultdbCLI(t, dir, "fsck"); code != 0 {
		t.Fatalf("fsck after the reshard: exit %d: %s", code, out)
	}
	engineCheck(t, dir)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestReshardKilled kills "vaultdb reshard" with SIGKILL at random instants
// of its run. Each time, the store either still works in the old layout or
// every command says a reshard stopped and how to finish it; "vaultdb
// reshard --resume" then finishes it, and every entry is in place, for
// vaultdb's fsck, the independent decoder and the reference alike.
// VAULTDB_CRASH_SEED replays the kill instants of a run.
func TestReshardKilled(t *testing.T) {
	ref := reference(t)
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("VAULTDB_CRASH_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("VAULTDB_CRASH_SEED=%d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	rounds := envInt("VAULTDB_INTEROP_RESHARD_KILLS", 10)

	want := map[string]string{}
	setup := func() string {
		dir := newStore(t, 2)
		ctx := context.Background()
		st, err := vault.Open(ctx, localdir.New(dir, localdir.Options{}), []byte(passphrase), vault.Options{})
		if err != nil {
			t.Fatal(err)
		}
		task := st.NewTask(ctx)
		for i := range 30 {
			p, v := fmt.Sprintf("/site%d/u%d/pw", i%4, i), fmt.Sprintf(`"v%d"`, i)
			want[p] = v
			if err := task.Set(ctx, p, json.RawMessage(v)); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	// How long one whole reshard takes here, to spread the kills over it.
	t0 := time.Now()
	if code, out := vaultdbCLI(t, setup(), "reshard", "5"); code != 0 {
		t.Fatalf("reshard: exit %d: %s", code, out)
	}
	span := time.Since(t0)
	t.Logf("one reshard: %s", span.Round(time.Millisecond))

	sealed := 0
	for round := range rounds {
		dir := setup()
		c := exec.Command(bin, "--store", dir, "reshard", "5")
		c.Env = append(os.Environ(), "VAULTDB_PASSPHRASE="+passphrase)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		// Half the rounds kill at any instant; the others once the first
		// old shard is sealed, when the store is most at stake.
		delay := time.Duration(rnd.Int64N(int64(span) * 6 / 5))
		if round%2 == 1 {
			delay = time.Duration(rnd.Int64N(int64(span) / 4))
			claim := filepath.Join(dir, "shard-0000-7fff")
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
				if b, _ := os.ReadFile(claim); strings.Contains(string(b), `"moved"`) {
					break
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
		time.Sleep(delay)
		c.Process.Kill()
		c.Wait()

		code, out := vaultdbCLI(t, dir, "get", "site1/u1/pw")
		switch {
		case code == 0 && strings.TrimSpace(out) == "v1":
		case code == 7 && strings.Contains(out, `vaultdb reshard --resume`):
			sealed++
		default:
			t.Fatalf("round %d (killed after %s): get: exit %d: %s", round, delay, code, out)
		}
		if code, out := vaultdbCLI(t, dir, "reshard", "--resume"); code != 0 {
			t.Fatalf("round %d (killed after %s): resume: exit %d: %s", round, delay, code, out)
		}
		st := decode(t, dir)
		if st.Shards != 2 && st.Shards != 5 {
			t.Fatalf("round %d: %d shards", round, st.Shards)
		}
		if len(st.Docs) != len(want) {
			t.Fatalf("round %d (killed after %s): %d documents, want %d", round, delay, len(st.Docs), len(want))
		}
		dump := refDump(t, ref, dir)
		for p, v := range want {
			if string(st.Docs[p]) != v || string(dump[p]) != v {
				t.Fatalf("round %d (killed after %s): %s is %s (decoder), %s (reference); want %s", round, delay, p, st.Docs[p], dump[p], v)
			}
		}
		// A writer killed between taking a shard's lock file and renaming
		// it over the shard leaves the lock (the reference's protocol);
		// fsck --repair removes it. Nothing else may need repair.
		if code, out := vaultdbCLI(t, dir, "fsck"); code != 0 {
			if !strings.Contains(out, "abandoned lock files") || strings.Contains(out, "problem found") {
				t.Fatalf("round %d (killed after %s): fsck: exit %d: %s", round, delay, code, out)
			}
			if code, out := vaultdbCLI(t, dir, "fsck", "--repair"); code != 0 {
				t.Fatalf("round %d (killed after %s): fsck --repair: exit %d: %s", round, delay, code, out)
			}
		}
	}
	t.Logf("%d kills, %d of them left the store sealed until the resume", rounds, sealed)
}
