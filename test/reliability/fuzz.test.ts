/**
 * The fuzz of `npm run fuzz` at 50,000 frames (and 20,000 against the CLI), a fast-check property over single hostile
 * connections (shrinks to the smallest stream that the server closes with the wrong reason), and
 * a check of the runner's own oracle against the server's decoder.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FrameDecoder, type Message } from '../../src/index.js'
import { formatFuzz, materialize, planArbitrary, runAttack, runFuzz } from '../../stress/fuzz.js'
import type { SessionLedger } from '../../stress/ledger.js'
import { boundarySizes, judgeStream } from '../../stress/wire.js'
import { cleanup, type Harness, startServer } from '../helpers/harness.js'

const MAX_PAYLOAD = 4096

it('survives 50,000 hostile frames over many connections: every close typed as owed, RSS bounded, the well-behaved client served throughout', async () => {
  // No latency bound (a loaded machine can break any): every ping of the well-behaved client must
  // be answered, correctly, while the attack runs; `npm run fuzz` judges its round trips too.
  const summary = await runFuzz({ frames: 50_000, connections: 32, seed: 20_240_601, timeLimitMs: 60_000, rttLimitMs: null })
  expect(summary.failures, formatFuzz(summary)).toEqual([])
  expect(summary.framesSent).toBeGreaterThanOrEqual(50_000)
  expect(summary.connections).toBeGreaterThan(300)
  // Every reason the byte rules can produce was exercised.
  for (const reason of ['client-closed', 'reset', 'frame-too-small', 'frame-too-large', 'bad-checksum']) {
    expect(summary.reasons[reason] ?? 0, `${reason} seen`).toBeGreaterThan(0)
  }
  expect(summary.rss.maxBytes).toBeLessThan(summary.rss.limitBytes)
  expect(summary.wellBehaved.failure, 'every ping answered').toBeNull()
  expect(summary.wellBehaved.roundTrips).toBeGreaterThan(10)
}, 90_000)

it('survives 20,000 hostile frames against the CLI in a child process (as `npm start` runs it) and exits 0 on SIGTERM', async () => {
  const summary = await runFuzz({ server: 'cli', frames: 20_000, connections: 32, seed: 99, timeLimitMs: 60_000 })
  expect(summary.failures, formatFuzz(summary)).toEqual([])
  expect(summary.mismatches).toBe(0)
  expect(summary.rss.scope).toBe('server child process')
}, 90_000)

describe('one hostile connection at a time (fast-check, shrinking)', () => {
  let t: Harness
  let ledger: SessionLedger
  beforeAll(async () => {
    t = await startServer({ maxPayload: MAX_PAYLOAD })
    ledger = t.ledger
  })
  afterAll(cleanup)

  it('closes each connection with the reason its bytes owe', async () => {
    await fc.assert(
      fc.asyncProperty(planArbitrary(MAX_PAYLOAD, 40), async (plan) => {
        const attack = materialize(plan, MAX_PAYLOAD)
        const result = await runAttack(t.port, attack, ledger)
        expect(result.problem).toBeNull()
        expect(result.actual).toBe(attack.expected)
      }),
      { numRuns: 150, seed: 42, endOnFailure: false },
    )
    expect(t.server.connectionCount).toBe(0)
    expect(ledger.pairingProblems()).toEqual([])
  }, 60_000)

  it('closes a frame whose size field sits on each boundary with the reason the spec gives', async () => {
    const owed = (size: number) => (size < 8 ? 'frame-too-small' : size - 8 > MAX_PAYLOAD ? 'frame-too-large' : 'client-closed')
    for (const size of boundarySizes(MAX_PAYLOAD)) {
      // Only the 4 size bytes, then a FIN: the size alone decides.
      const attack = materialize({ kind: 'boundary', seed: size, frames: 0, splits: [], size, tail: 'none', after: 0 }, MAX_PAYLOAD)
      expect(attack.expected, `oracle for size ${size}`).toBe(owed(size))
      const result = await runAttack(t.port, attack, ledger)
      expect(result.actual, `size ${size}`).toBe(owed(size))
    }
  }, 30_000)
})

describe('the runner decodes as the server does', () => {
  it("agrees with src's FrameDecoder on the first invalid frame of 3,000 generated streams, fed in random splits", () => {
    fc.assert(
      fc.property(planArbitrary(MAX_PAYLOAD, 60), fc.array(fc.nat(), { maxLength: 8 }), (plan, cutSeeds) => {
        const { bytes } = materialize(plan, MAX_PAYLOAD)
        const verdict = judgeStream(bytes, MAX_PAYLOAD)
        const decoder = new FrameDecoder(MAX_PAYLOAD)
        const cuts = [...new Set(cutSeeds.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b)
        const out: Message[] = []
        let code: string = 'client-closed'
        let from = 0
        for (const cut of [...cuts, bytes.length]) {
          const error = decoder.push(Buffer.from(bytes.subarray(from, cut)), out)
          from = cut
          if (error !== null) {
            code = error.code
            break
          }
        }
        expect(code).toBe(verdict.reason)
        expect(out.length).toBe(verdict.validFrames)
      }),
      { numRuns: 3_000, seed: 7 },
    )
  })
})
