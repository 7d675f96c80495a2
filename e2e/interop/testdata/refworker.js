'use strict'
// A worker of the interop tests: runs operations of the VaultDB reference
// implementation (JavaScript) on a local-directory store, with the
// reference's own FileAdapter and lock protocol.
//
//   node refworker.js REFDIR STOREDIR counter PATH N
//   node refworker.js REFDIR STOREDIR mix SEED N
//   node refworker.js REFDIR STOREDIR dump
//
// The passphrase comes from $VAULTDB_PASSPHRASE (never argv). Each
// operation that returned is printed as one line on stdout as soon as it is
// acknowledged ("ack" for a counter increment; "ok OP PATH [VALUE]" for the
// mix), so a test that kills the worker knows what was acknowledged. A
// failed operation prints "err OP PATH MESSAGE" and the worker goes on.

const path = require('path')
const [refDir, storeDir, mode, ...rest] = process.argv.slice(2)
const Store = require(path.join(refDir, 'lib', 'store'))
const FileAdapter = require(path.join(refDir, 'lib', 'adapters', 'file'))

function say (line) {
  // Synchronous, so a line is out before the next operation starts.
  require('fs').writeSync(1, line + '\n')
}

// A small seeded generator (mulberry32), so a run can be repeated.
function rng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// The mix's paths: shared with the Go worker (mixPath in interop_test.go).
function mixPath (r) {
  let d = Math.floor(r() * 3)
  switch (Math.floor(r() * 3)) {
    case 0: return `/d${d}/e${Math.floor(r() * 4)}`
    case 1: return `/d${d}/s/e${Math.floor(r() * 2)}`
    default: return `/top${Math.floor(r() * 2)}`
  }
}

// The reference's Task._storeUnlink chains .finally() on an unlink's
// promise and never handles the promise that returns: when the unlink
// conflicts (the remove itself handles that and retries), or when its
// callback finds the bookkeeping entry already gone (a TypeError at
// task.js "stored.id"), node would end the process for an unhandled
// rejection. Those are bugs of the reference's bookkeeping, not of the
// store: the operation's own promise still reports its outcome. The worker
// notes them on stderr and goes on.
process.on('unhandledRejection', (e) => {
  process.stderr.write(`refworker: reference bug, unhandled rejection: ${(e && e.message) || e}\n`)
})

async function main () {
  const password = process.env.VAULTDB_PASSPHRASE
  const store = await Store.open(new FileAdapter(storeDir), { key: { password } })
  if (mode === 'counter') {
    const [doc, n] = [rest[0], parseInt(rest[1], 10)]
    for (let i = 0; i < n; i++) {
      try {
        await store.task().update(doc, (v) => (v || 0) + 1)
        say('ack')
      } catch (e) {
        say(`err update ${doc} ${e.message}`)
      }
    }
  } else if (mode === 'mix') {
    const r = rng(parseInt(rest[0], 10))
    const n = parseInt(rest[1], 10)
    for (let i = 0; i < n; i++) {
      const k = Math.floor(r() * 10)
      let op, p, v
      if (k < 6) {
        op = 'update'
        p = mixPath(r)
        v = `ref-${process.pid}-${i}`
      } else if (k < 9) {
        op = 'remove'
        p = mixPath(r)
      } else {
        op = 'prune'
        p = `/d${Math.floor(r() * 3)}/` + (r() < 0.5 ? 's/' : '')
      }
      try {
        if (op === 'update') await store.task().update(p, () => v)
        else if (op === 'remove') await store.task().remove(p)
        else await store.task().prune(p)
        say(`ok ${op} ${p}` + (v ? ` ${v}` : ''))
      } catch (e) {
        say(`err ${op} ${p} ${e.message}`)
      }
    }
  } else if (mode === 'dump') {
    // Every document as the reference reads it, as one JSON object.
    const task = store.task()
    const out = {}
    for await (const rel of task.find('/')) {
      const v = await task.get('/' + rel)
      if (v !== null) out['/' + rel] = v // null: a name left by an interrupted remove
    }
    say(JSON.stringify(out))
  } else {
    throw new Error(`unknown mode ${mode}`)
  }
}

main().catch((e) => {
  process.stderr.write(`refworker: ${e.stack || e}\n`)
  process.exit(1)
})
