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
    // No latency bound: in-process the round trip shares one event loop with the flooder and the
    // server, beside other test files on a loaded machine. What is judged is that the other client
    // keeps being served: every ping answered, in order, throughout the flood (`npm run flood`
    // judges p99 and the slowest round trip against a server of its own).
    p99LimitMs: null,
    maxLimitMs: null,
  })
  expect(summary.failures, formatFlood(summary)).toEqual([])
  // Held back: TCP stalled it long before 32 MiB, or the server closed it as a slow consumer.
  expect(['stalled', 'closed']).toContain(summary.outcome)
  if (summary.outcome === 'closed') expect(summary.serverReason).toBe('slow-consumer')
  expect(summary.writtenBytes).toBeLessThan(32 * MiB)
  expect(summary.rss.growthBytes).toBeLessThan(100 * MiB)
  expect(summary.wellBehaved.roundTrips).toBeGreaterThan(10)
  expect(summary.wellBehaved.failure, 'every ping of the other client answered').toBeNull()
}, 60_000)
