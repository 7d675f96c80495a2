package sched

import (
	"fmt"
	"testing"
)

// The planning cost of the scheduler for 10,000 high-level operations, as
// the engine plans them when they are issued together in one task (spec
// §6). Each benchmark builds the plan, optimises it and takes the first
// ready groups; the changes' shards are spread over 16 shards by a fixed
// hash, as paths are by the HMAC router.

const benchOps = 10000
const benchShards = 16

// shardOf spreads item keys over the shards deterministically.
func shardOf(key string) int { return shardIn(key, benchShards) }

// shardIn spreads item keys over n shards by a fixed hash.
func shardIn(key string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return int(h % uint32(n))
}

// BenchmarkPlanImport10000 plans 10,000 updates of new documents
// /gGG/siteN/login, as an import does: for each, the links of the three
// edges (the group's link into "/" once per group) and the put after them.
func BenchmarkPlanImport10000(b *testing.B) { benchPlanImport(b, benchShards) }

// benchPlanImport plans benchOps updates of new documents on the given
// number of shards, as BenchmarkPlanImport10000 describes.
func benchPlanImport(b *testing.B, shards int) {
	for b.Loop() {
		p := New[any]()
		linked := map[string]bool{}
		for i := range benchOps {
			g := fmt.Sprintf("/g%02d/", i%100)
			site := fmt.Sprintf("%ssite%06d/", g, i)
			doc := site + "login"
			var links []*Change[any]
			if !linked[g] {
				linked[g] = true
				links = append(links, ch(shardIn("/", shards)))
			}
			links = append(links, ch(shardIn(g, shards)), ch(shardIn(site, shards)))
			addAll(p, links...)
			p.Add(ch(shardIn(doc, shards), links...))
		}
		p.Optimize()
		if len(p.Ready()) == 0 || p.D() > 2 {
			b.Fatalf("N=%d D=%d", p.N(), p.D())
		}
	}
}

// BenchmarkPlanRemove10000 plans 10,000 removes of documents
// /gGG/siteN/login that each empty their site directory: rm, then the
// chain unlink(site) -> unlink(group), each after the previous one.
func BenchmarkPlanRemove10000(b *testing.B) {
	for b.Loop() {
		p := New[any]()
		for i := range benchOps {
			g := fmt.Sprintf("/g%02d/", i%100)
			site := fmt.Sprintf("%ssite%06d/", g, i)
			rm := ch(shardOf(site + "login"))
			unlinkSite := ch(shardOf(site), rm)
			unlinkGroup := ch(shardOf(g), unlinkSite)
			addAll(p, rm, unlinkSite, unlinkGroup)
		}
		p.Optimize()
		if len(p.Ready()) == 0 || p.D() > 3 {
			b.Fatalf("N=%d D=%d", p.N(), p.D())
		}
	}
}

// BenchmarkPlanImport256Shards is BenchmarkPlanImport10000 on 256 shards,
// where every link group has puts on many other shards depending on it:
// the cycle checks' reachability walk, uncut, was 57% of the CPU of an
// import of 30,000 entries into 256 shards.
func BenchmarkPlanImport256Shards(b *testing.B) { benchPlanImport(b, 256) }
