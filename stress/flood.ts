/**
 * Flood without reading: one raw client writes 64 KiB frames (256 MiB by default) to an echo
 * server and never reads a byte, while a well-behaved client measures its echo round trip.
 *
 *   npm run flood                                    # 256 MiB against `src/cli.ts` in a child process
 *   npm run flood -- --mib 32 --server in-process --json
 *
 * The flooder honours its own socket's backpressure (it waits for 'drain'), so its memory stays
 * small and what it measures is the server: every echo the server owes it piles up on the
 * server's side, so the server must either stop reading it (TCP then stalls the flooder: its
 * write returns false and 'drain' never comes) or close it with `slow-consumer`.
 *
 * Passes when: the flooder is stalled (no 'drain' for `stallMs`) or closed with slow-consumer,
 * the server's RSS grows by less than `rssGrowthLimit` over its RSS before the flood, and the
 * other client's round trips stay under `p99LimitMs` at the 99th percentile and under
 * `maxLimitMs` at worst. With `server: 'cli'` the RSS is the child's own (Linux /proc); in-process
 * it is this whole process, server and both clients together: an upper bound.
 */
import { connect as netConnect, type Socket } from 'node:net'
import { createServer, type Server } from '../src/index.js'
import { type CliServer, loggedReason, startCli } from './child.js'
import { startPinger } from './fuzz.js'
import { SessionLedger } from './ledger.js'
import { collect, getGc, intFlag, isMain, MiB, mib, parseFlags, report, serverFlag } from './util.js'
import { orAfter, sleep } from '../test/helpers/wait.js'
import { encode } from './wire.js'

export interface FloodOptions {
  /** Bytes the flooder tries to write. @default 256 MiB */
  totalBytes?: number
  /** Bytes per frame on the wire. @default 64 KiB */
  frameBytes?: number
  /** 'cli': `src/cli.ts` in a child process (default); 'in-process': createServer here. */
  server?: 'cli' | 'in-process'
  /** No 'drain' for this long counts as stalled. @default 1_000 */
  stallMs?: number
  /** How long the stalled flooder is kept connected while the round trips go on. @default 1_000 */
  holdMs?: number
  /** @default 100 MiB */
  rssGrowthLimit?: number
  /** Round-trip p99 bound during the flood; null: not judged (a loaded machine can break any bound). @default 50 */
  p99LimitMs?: number | null
  /** Slowest round-trip bound during the flood; null: not judged, only that every ping is answered. @default 1_000 */
  maxLimitMs?: number | null
  /** Pause between round trips. @default 5 */
  pingIntervalMs?: number
  /** The whole run gives up after this long. @default 120_000 */
  timeLimitMs?: number
}

export type FloodOutcome = 'stalled' | 'closed' | 'completed' | 'timed-out'

export interface FloodSummary {
  ok: boolean
  failures: string[]
  server: 'cli' | 'in-process'
  frameBytes: number
  attemptedBytes: number
  /** Bytes the flooder's socket accepted before it stalled or closed. */
  writtenBytes: number
  outcome: FloodOutcome
  /** The server's close reason for the flooder, if it closed it before the flooder gave up. */
  serverReason: string | null
  rss: { beforeBytes: number; maxBytes: number; growthBytes: number; limitBytes: number; scope: string }
  wellBehaved: { roundTrips: number; p50Ms: number; p99Ms: number; maxMs: number; p99LimitMs: number | null; maxLimitMs: number | null; failure: string | null }
  durationMs: number
}

/** With latency not judged, a ping still counts as late (and unanswered 10 s later, as failed) past this. */
const UNJUDGED_PING_LIMIT_MS = 10_000

export async function runFlood(options: FloodOptions = {}): Promise<FloodSummary> {
  const totalBytes = options.totalBytes ?? 256 * MiB
  const frameBytes = options.frameBytes ?? 64 * 1024
  const mode = options.server ?? 'cli'
  const stallMs = options.stallMs ?? 1_000
  const holdMs = options.holdMs ?? 1_000
  const rssGrowthLimit = options.rssGrowthLimit ?? 100 * MiB
  const p99LimitMs = options.p99LimitMs === undefined ? 50 : options.p99LimitMs
  const maxLimitMs = options.maxLimitMs === undefined ? 1_000 : options.maxLimitMs
  const deadline = performance.now() + (options.timeLimitMs ?? 120_000)
  const started = performance.now()
  const failures: string[] = []

  let server: Server | null = null
  let cli: CliServer | null = null
  const ledger = new SessionLedger()
  let port: number
  let serverRss: () => number
  if (mode === 'cli') {
    cli = await startCli(['--port', '0'])
    port = cli.port
    serverRss = cli.rss
  } else {
    server = createServer()
    server.onConnect(ledger.connected)
    server.onDisconnect(ledger.disconnected)
    server.onMessage((session, message) => {
      session.send(message)
    })
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port
    serverRss = () => process.memoryUsage.rss()
  }

  try {
    const { client: good, pinger } = await startPinger(port, options.pingIntervalMs ?? 5, maxLimitMs ?? UNJUDGED_PING_LIMIT_MS)
    // Let the round trips settle, then take the baseline (after a GC where one is available).
    await sleep(200)
    const gc = mode === 'in-process' ? getGc() : null
    if (gc !== null) await collect(gc)
    const rssBefore = serverRss()
    let rssMax = rssBefore
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, serverRss())
    }, 25)

    const pingsBefore = pinger.rtts.length
    const flooder: Socket = netConnect({ host: '127.0.0.1', port, noDelay: true })
    flooder.on('error', () => {})
    // No 'data' listener and paused: the flooder never reads what the server sends it.
    flooder.pause()
    let flooderClosed = false
    flooder.once('close', () => {
      flooderClosed = true
    })
    await new Promise<void>((resolve, reject) => {
      flooder.once('connect', () => resolve())
      flooder.once('error', reject)
    })
    const localPort = flooder.localPort!
    const frame = encode(1, Buffer.alloc(frameBytes - 12, 0x5a))
    let writtenBytes = 0
    let outcome: FloodOutcome = 'completed'
    while (writtenBytes < totalBytes) {
      if (flooderClosed) {
        outcome = 'closed'
        break
      }
      if (performance.now() > deadline) {
        outcome = 'timed-out'
        break
      }
      const ok = flooder.write(frame)
      writtenBytes += frame.length
      if (!ok) {
        const next = await orAfter(
          new Promise<'drain' | 'closed'>((resolve) => {
            flooder.once('drain', () => resolve('drain'))
            flooder.once('close', () => resolve('closed'))
          }),
          stallMs,
          'stalled' as const,
        )
        if (next !== 'drain') {
          outcome = next
          break
        }
      }
    }
    if (outcome === 'stalled') await sleep(holdMs)
    const rttsDuring = pinger.rtts.slice(pingsBefore)
    clearInterval(sampler)
    rssMax = Math.max(rssMax, serverRss())

    // The server's verdict on the flooder, if it closed it; then the flooder leaves.
    let serverReason: string | null = null
    if (cli !== null) {
      serverReason = loggedReason(cli.lines, localPort) ?? null
    } else if (ledger.hasSessionOn(localPort) && !ledger.hasOpenSessionOn(localPort)) {
      serverReason = await ledger.claim(localPort, 1_000)
    }
    flooder.destroy()
    await pinger.stop()
    await orAfter(good.close(), 2_000, null)

    const sorted = [...rttsDuring].sort((a, b) => a - b)
    const pick = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!)
    const p99 = pick(99)
    const max = sorted.at(-1) ?? 0

    if (outcome === 'completed') failures.push(`the flooder wrote all ${mib(totalBytes)} without ever being held back`)
    if (outcome === 'timed-out') failures.push('the flood hit the time limit')
    if (outcome === 'closed' && serverReason !== 'slow-consumer') failures.push(`the flooder was closed with ${serverReason ?? 'no logged reason'}, not slow-consumer`)
    if (rssMax - rssBefore > rssGrowthLimit) failures.push(`server RSS grew by ${mib(rssMax - rssBefore)}, above ${mib(rssGrowthLimit)}`)
    if (sorted.length < 10) failures.push(`only ${sorted.length} round trips completed during the flood`)
    if (p99LimitMs !== null && p99 > p99LimitMs) failures.push(`round trip p99 ${p99.toFixed(1)} ms during the flood, above ${p99LimitMs} ms`)
    if (maxLimitMs !== null && max > maxLimitMs) failures.push(`slowest round trip ${max.toFixed(1)} ms during the flood, above ${maxLimitMs} ms`)
    if (pinger.failure !== null) failures.push(pinger.failure)

    return {
      ok: failures.length === 0,
      failures,
      server: mode,
      frameBytes,
      attemptedBytes: totalBytes,
      writtenBytes,
      outcome,
      serverReason,
      rss: {
        beforeBytes: rssBefore,
        maxBytes: rssMax,
        growthBytes: rssMax - rssBefore,
        limitBytes: rssGrowthLimit,
        scope: mode === 'cli' ? 'server child process' : 'whole test process (server and clients)',
      },
      wellBehaved: {
        roundTrips: sorted.length,
        p50Ms: round(pick(50)),
        p99Ms: round(p99),
        maxMs: round(max),
        p99LimitMs,
        maxLimitMs,
        failure: pinger.failure,
      },
      durationMs: Math.round(performance.now() - started),
    }
  } finally {
    if (server !== null) await orAfter(server.stop(), 10_000, null)
    if (cli !== null) {
      cli.child.kill('SIGTERM')
      if ((await orAfter(cli.exited, 10_000, null)) === null) cli.kill()
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}

export function formatFlood(s: FloodSummary): string {
  return [
    `flood ${s.ok ? 'PASSED' : 'FAILED'} in ${(s.durationMs / 1000).toFixed(1)} s (server: ${s.server})`,
    `  flooder            ${mib(s.writtenBytes)} of ${mib(s.attemptedBytes)} accepted in ${s.frameBytes}-byte frames, then ${s.outcome}` +
      (s.serverReason === null ? '' : ` (server reason: ${s.serverReason})`),
    `  server RSS         ${mib(s.rss.beforeBytes)} before, ${mib(s.rss.maxBytes)} max: +${mib(s.rss.growthBytes)} (limit ${mib(s.rss.limitBytes)}; ${s.rss.scope})`,
    `  other client       ${s.wellBehaved.roundTrips} round trips during the flood: p50 ${s.wellBehaved.p50Ms} ms, p99 ${s.wellBehaved.p99Ms} ms, max ${s.wellBehaved.maxMs} ms (limits ${s.wellBehaved.p99LimitMs ?? 'none'} / ${s.wellBehaved.maxLimitMs ?? 'none'} ms)`,
    ...s.failures.map((f) => `  FAIL: ${f}`),
    '',
  ].join('\n')
}

if (isMain(import.meta.url)) {
  const flags = parseFlags(process.argv.slice(2))
  const json = flags.has('json')
  const mode = serverFlag(flags, 'cli')
  const summary = await runFlood({
    totalBytes: intFlag(flags, 'mib', 256) * MiB,
    frameBytes: intFlag(flags, 'frame-bytes', 64 * 1024),
    server: mode,
    stallMs: intFlag(flags, 'stall-ms', 1_000),
  })
  report(summary, json, () => formatFlood(summary))
}
