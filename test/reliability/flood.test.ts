/**
 * Flood without reading: a raw client writes 64 KiB frames to the echo server and never reads,
 * while another client measures its echo round trip. The full version (256 MiB, server in a child
 * process) is `npm run flood`; here 32 MiB against an in-process server.
 */
import { expect, it } from 'vitest'
import { formatFlood, runFlood } from '../../stress/flood.js'
import { MiB } from '../../stress/util.js'

it('holds back a client that floods 32 MiB of 64 KiB frames without reading, and keeps serving another client', async () => {
  const summary = await runFlood({
    server: 'in-process',
    totalBytes: 32 * MiB,
    frameBytes: 64 * 1024,
    stallMs: 1_000,
    holdMs: 500,
    rssGrowthLimit: 100 * MiB,
    // In-process, the round trip also waits for the flooder's and the server's work on the one
    // event loop, and CI runs other test files beside this one: p99 under 50 ms (the issue's
    // figure for a server of its own) and every round trip under 1 s (the probe's bound).
    p99LimitMs: 50,
    maxLimitMs: 1_000,
  })
  expect(summary.failures, formatFlood(summary)).toEqual([])
  // Held back: TCP stalled it long before 32 MiB, or the server closed it as a slow consumer.
  expect(['stalled', 'closed']).toContain(summary.outcome)
  if (summary.outcome === 'closed') expect(summary.serverReason).toBe('slow-consumer')
  expect(summary.writtenBytes).toBeLessThan(32 * MiB)
  expect(summary.rss.growthBytes).toBeLessThan(100 * MiB)
  expect(summary.wellBehaved.roundTrips).toBeGreaterThan(10)
}, 60_000)
