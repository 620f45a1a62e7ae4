/**
 * Churn soak: connect / echo / close cycles against a real server on 127.0.0.1 whose clock is an
 * XState SimulatedClock, so heartbeat timeouts are driven by `clock.increment` and never waited for.
 *
 *   npm run soak                                   # node --expose-gc --import tsx stress/soak.ts
 *   node --expose-gc --import tsx stress/soak.ts --cycles 2000 --json
 *
 * Every odd cycle ends with an RST (`resetAndDestroy`), and one cycle in `halfOpenEvery` is a
 * half-open peer: it echoes once, then stops reading and writing and never closes, like a phone
 * that lost its network; at the end of each batch the clock is moved past the heartbeat timeout
 * and the server must close those with `heartbeat-timeout`. The rest close with a FIN.
 *
 * With `--resume` the server has `resume` on and every cycle but the half-open ones drops and
 * resumes: a raw peer gets its token, resets, presents the token on a new connection, echoes again
 * and says GOODBYE. The half-open peers are detached at the heartbeat timeout and closed when the
 * grace runs out.
 *
 * Afterwards: the registry is empty (`connectionCount` 0), every onConnect had exactly one
 * onDisconnect with the reason its cycle owed, every session was in state 'closed' at its
 * onDisconnect, no connection actor is left alive (counted through the `inspect` option), the
 * process has the same sockets and timers as before the cycles, and, when the GC is exposed,
 * every session object was garbage-collected and memory per cycle (RSS and heap, after GC,
 * measured from the end of a warm-up) stays under `perCycleLimit` at 2,000 and at `cycles`
 * (RSS within its noise floor: see RSS_NOISE_FLOOR).
 */
import { connect as netConnect, type Socket } from 'node:net'
import { type InspectionEvent, SimulatedClock } from 'xstate'
import { connect, createServer, type Server } from '../src/index.js'
import { type ClaimResult, SessionLedger } from './ledger.js'
import {
  collect,
  intFlag,
  isMain,
  mib,
  parseFlags,
  report,
  resourceCounts,
  resourceDelta,
} from './util.js'
import { nextIO, orAfter, sleep, until } from '../test/helpers/wait.js'
import { encode } from './wire.js'
import { RawPeer } from '../test/helpers/rawPeer.js'
import { RESUME_CONTROL_IDS, resumeFrame } from '../src/resume/resumeControl.js'

export type CycleKind = 'fin' | 'reset' | 'half-open' | 'resume'

const OWED: Record<CycleKind, ClaimResult> = {
  fin: 'client-closed',
  reset: 'reset',
  'half-open': 'heartbeat-timeout',
  resume: 'client-closed',
}

/** The grace of a `--resume` soak's server. */
const RESUME_GRACE = 10_000

export interface ChurnOptions {
  /** Measured cycles, after the warm-up. @default 10_000 */
  cycles?: number
  /**
   * Cycles run first and not measured, so that pools, maps and the JIT settle: V8's code space
   * alone grows by ~300 KB over the first few thousand cycles, then stays flat. @default 3_000
   */
  warmup?: number
  /** Cycles in flight at once. @default 32 */
  concurrency?: number
  /** Cycles per batch; half-open peers are timed out at the end of each. @default 500 */
  batch?: number
  /** One even cycle in this many is half-open. @default 50 */
  halfOpenEvery?: number
  /** The server resumes sessions, and the odd cycles drop and resume instead of resetting. @default false */
  resume?: boolean
  /** Bytes of RSS (and of heap) a cycle may leave behind. @default 200 */
  perCycleLimit?: number
  /**
   * Memory checks need a GC handle: the default uses `global.gc` (node --expose-gc) and skips
   * them, saying so, without it. Pass a function to supply one, or null to skip them.
   */
  gc?: (() => void) | null
  /** Gives up (and fails) after this long. @default 600_000 */
  timeLimitMs?: number
  /** RSS growth that never fails the run, whatever its slope. @default RSS_NOISE_FLOOR */
  rssNoiseFloor?: number
  log?: (line: string) => void
}

export interface MemoryPoint {
  cycles: number
  rssBytes: number
  heapUsedBytes: number
  /** (value here - value after the warm-up) / cycles. */
  rssPerCycle: number
  heapPerCycle: number
  /** Least-squares slope over the value after every batch so far, in bytes per cycle. */
  rssSlope: number
  heapSlope: number
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

export interface ChurnSummary {
  ok: boolean
  failures: string[]
  cycles: number
  warmup: number
  kinds: Record<CycleKind, number>
  reasons: Record<string, number>
  mismatches: number
  mismatchSamples: string[]
  connects: number
  disconnects: number
  connectionCountAfter: number
  actors: { created: number; alive: number }
  sessions: { registered: number; collected: number } | null
  resources: { before: Record<string, number>; after: Record<string, number>; delta: Record<string, number> }
  memory: {
    gc: boolean
    base: { rssBytes: number; heapUsedBytes: number } | null
    points: MemoryPoint[]
    /** After GC, at the end of every measured batch. */
    series: { cycles: number; rssBytes: number; heapUsedBytes: number }[]
    limitPerCycle: number
  }
  durationMs: number
  cyclesPerSecond: number
}

export function cycleKind(i: number, halfOpenEvery: number, resume = false): CycleKind {
  if (i % 2 === 0 && i % halfOpenEvery === 0) return 'half-open'
  if (resume) return 'resume'
  return i % 2 === 1 ? 'reset' : 'fin'
}

/** Counts connection actors alive, from the inspection stream: created, and not yet done or stopped. */
class ActorCensus {
  created = 0
  private readonly alive = new Set<string>()

  readonly inspect = (event: InspectionEvent): void => {
    const ref = event.actorRef
    if (!('id' in ref) || typeof ref.id !== 'string' || !ref.id.startsWith('session:')) return
    if (event.type === '@xstate.actor') {
      this.created++
      this.alive.add(event.actorRef.sessionId)
    } else if (event.type === '@xstate.snapshot' && event.snapshot.status !== 'active') {
      this.alive.delete(event.actorRef.sessionId)
    }
  }

  get aliveCount(): number {
    return this.alive.size
  }
}

const WAIT = 5_000

/**
 * RSS after a full GC still moves by 2-4 MB between two idle moments of the same process (glibc
 * arenas and V8 pages kept or returned: measured level shifts of -4 to +3 MB with a flat heap), so
 * RSS alone cannot resolve 200 B per cycle (400 KB at 2,000 cycles, 2 MB at 10,000). RSS fails
 * the run only when both estimators see growth: the end-to-end growth is above the larger of
 * `perCycleLimit * cycles` and this floor, and the least-squares slope over the post-GC RSS after
 * every batch is above `perCycleLimit`. The heap (exact to a few KB after GC) is held to
 * `perCycleLimit` on both estimators, and every session object must be collected. All figures
 * are reported as measured.
 */
export const RSS_NOISE_FLOOR = 2 * 1024 * 1024

export async function runChurn(options: ChurnOptions = {}): Promise<ChurnSummary> {
  const cycles = options.cycles ?? 10_000
  const warmup = options.warmup ?? 3_000
  const rssNoiseFloor = options.rssNoiseFloor ?? RSS_NOISE_FLOOR
  const concurrency = options.concurrency ?? 32
  const batch = options.batch ?? 500
  const halfOpenEvery = options.halfOpenEvery ?? 50
  const perCycleLimit = options.perCycleLimit ?? 200
  const gc = options.gc === undefined ? (typeof globalThis.gc === 'function' ? () => void globalThis.gc!() : null) : options.gc
  const timeLimitMs = options.timeLimitMs ?? 600_000
  const log = options.log ?? (() => {})
  const started = performance.now()
  const deadline = started + timeLimitMs
  const failures: string[] = []
  const total = warmup + cycles
  const measureAt = new Set([2_000, cycles].filter((n) => n > 0 && n <= cycles))

  const clock = new SimulatedClock()
  const heartbeat = { interval: 5_000, timeout: 30_000 }
  // The server's sweep period: a quarter of the shortest heartbeat delay.
  const sweepPeriod = Math.floor(Math.min(heartbeat.interval, heartbeat.timeout - heartbeat.interval) / 4)
  const census = new ActorCensus()
  const ledger = new SessionLedger()
  let handlerErrors = 0
  const resume = options.resume ?? false
  const server: Server = createServer({ clock, heartbeat, inspect: census.inspect, ...(resume ? { resume: { grace: RESUME_GRACE } } : {}) })
  /** Connections that resumed a session rather than opening one: an actor each, and no onConnect. */
  let resumes = 0
  let registered = 0
  let collected = 0
  const finalization = new FinalizationRegistry<number>(() => {
    collected++
  })
  server.onConnect((session) => {
    ledger.connected(session)
    if (gc !== null) {
      finalization.register(session, 0)
      registered++
    }
  })
  server.onDisconnect(ledger.disconnected)
  server.onMessage((session, message) => {
    session.send(message)
  })
  server.onError(() => {
    handlerErrors++
  })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 })

  const kinds: Record<CycleKind, number> = { fin: 0, reset: 0, 'half-open': 0, resume: 0 }
  let mismatches = 0
  const mismatchSamples: string[] = []
  const mismatch = (text: string) => {
    mismatches++
    if (mismatchSamples.length < 10) mismatchSamples.push(text)
  }
  const ghosts: { socket: Socket; port: number }[] = []

  const cycle = async (i: number): Promise<void> => {
    const kind = cycleKind(i, halfOpenEvery, resume)
    if (i >= warmup) kinds[kind]++
    const payload = Buffer.alloc(8)
    payload.writeUInt32LE(i, 0)
    if (kind === 'resume') {
      resumes++
      const outcome = await dropAndResume(port, payload)
      if (typeof outcome === 'string') return mismatch(`cycle ${i} (resume): ${outcome}`)
      const reason = await ledger.claim(outcome, WAIT)
      if (reason !== OWED.resume) mismatch(`cycle ${i} (resume): ${reason}, owed ${OWED.resume}`)
      return
    }
    if (kind === 'half-open') {
      const ghost = await halfOpenPeer(port, encode(1, payload))
      if (typeof ghost === 'string') return mismatch(`cycle ${i} (half-open): ${ghost}`)
      ghosts.push(ghost)
      return
    }
    const client = await connect({ host: '127.0.0.1', port, heartbeatInterval: 0 })
    const localPort = client.localPort
    client.send({ id: 1, data: payload })
    const echo = await orAfter(
      client.receive().catch(() => null),
      WAIT,
      null,
    )
    if (echo === null || !Buffer.from(echo.data).equals(payload)) mismatch(`cycle ${i} (${kind}): no echo`)
    if (kind === 'fin') await orAfter(client.close(), WAIT, null)
    else client.reset()
    const reason = await ledger.claim(localPort, WAIT)
    if (reason !== OWED[kind]) mismatch(`cycle ${i} (${kind}): ${reason}, owed ${OWED[kind]}`)
  }

  /** Moves the clock past the heartbeat timeout and checks that every half-open peer was closed for it. */
  const reapGhosts = async (): Promise<void> => {
    if (ghosts.length === 0) return
    clock.increment(heartbeat.timeout + sweepPeriod)
    // With resume the silent peers were detached: their sessions end when the grace runs out.
    if (resume) clock.increment(RESUME_GRACE + sweepPeriod)
    for (const ghost of ghosts.splice(0)) {
      const reason = await ledger.claim(ghost.port, WAIT)
      if (reason !== OWED['half-open']) mismatch(`half-open peer on port ${ghost.port}: ${reason}, owed heartbeat-timeout`)
      // The peer's machine would notice one day; here the test process frees its end.
      ghost.socket.destroy()
    }
  }

  const measure = async (): Promise<{ rssBytes: number; heapUsedBytes: number }> => {
    await collect(gc!, 6)
    const usage = process.memoryUsage()
    return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed }
  }

  let base: { rssBytes: number; heapUsedBytes: number } | null = null
  let before: Record<string, number> = {}
  const points: MemoryPoint[] = []
  /** Memory after GC at the end of every measured batch. */
  const series: { cycles: number; rssBytes: number; heapUsedBytes: number }[] = []
  let timedOut = false

  // Batches end at every multiple of `batch`, at the end of the warm-up and at each measuring point.
  const ends = new Set<number>([warmup, total, ...[...measureAt].map((m) => warmup + m)])
  for (let n = batch; n < total; n += batch) ends.add(n)
  const boundaries = [...ends].filter((n) => n > 0 && n <= total).sort((a, b) => a - b)
  if (warmup === 0) {
    if (gc !== null) base = await measure()
    before = await settledResources()
  }
  let start = 0
  for (const end of boundaries) {
    let next = start
    start = end
    const worker = async (): Promise<void> => {
      while (next < end) {
        const i = next++
        await cycle(i).catch((error: unknown) => mismatch(`cycle ${i}: ${error instanceof Error ? error.message : String(error)}`))
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, end - next) }, worker))
    await reapGhosts()
    if (!(await until(() => server.connectionCount === 0, WAIT))) {
      failures.push(`after cycle ${end}: connectionCount is ${server.connectionCount}`)
      break
    }
    if (end === warmup) {
      if (gc !== null) base = await measure()
      before = await settledResources()
    }
    const counted = end - warmup
    if (gc !== null && base !== null && counted > 0) {
      const now = await measure()
      series.push({ cycles: counted, rssBytes: now.rssBytes, heapUsedBytes: now.heapUsedBytes })
      if (measureAt.has(counted)) {
        const upTo = [{ cycles: 0, ...base }, ...series]
        points.push({
          cycles: counted,
          rssBytes: now.rssBytes,
          heapUsedBytes: now.heapUsedBytes,
          rssPerCycle: round1((now.rssBytes - base.rssBytes) / counted),
          heapPerCycle: round1((now.heapUsedBytes - base.heapUsedBytes) / counted),
          rssSlope: round1(slope(upTo.map((p) => [p.cycles, p.rssBytes]))),
          heapSlope: round1(slope(upTo.map((p) => [p.cycles, p.heapUsedBytes]))),
        })
      }
    }
    if (end % 2_000 === 0 || end === total) {
      log(`soak: ${end}/${total} cycles (${warmup} warm-up), ${mismatches} mismatches, rss ${mib(process.memoryUsage.rss())}`)
    }
    if (performance.now() > deadline) {
      timedOut = true
      break
    }
  }
  if (gc !== null) await collect(gc, 6)
  const after = await settledResources()
  const delta = resourceDelta(before, after)
  const connectionCountAfter = server.connectionCount
  const durationMs = performance.now() - started

  await orAfter(server.stop(), 10_000, null)

  if (timedOut) failures.push(`stopped at the ${timeLimitMs} ms time limit`)
  if (mismatches > 0) failures.push(`${mismatches} cycle(s) did not end as owed`)
  if (connectionCountAfter !== 0) failures.push(`connectionCount ${connectionCountAfter} after the cycles`)
  if (census.aliveCount !== 0) failures.push(`${census.aliveCount} connection actor(s) still alive`)
  if (census.created !== ledger.connects + resumes) {
    failures.push(`${census.created} connection actors created for ${ledger.connects} onConnect calls and ${resumes} resumes`)
  }
  if (ledger.connects !== total) failures.push(`${ledger.connects} onConnect calls for ${total} cycles`)
  if (handlerErrors > 0) failures.push(`${handlerErrors} handler error(s)`)
  failures.push(...ledger.pairingProblems())
  const sockets = (delta.TCPSocketWrap ?? 0) + (delta.TCPWRAP ?? 0)
  if (sockets !== 0) failures.push(`${sockets} socket handle(s) more than before the cycles`)
  const handleDrift = Object.values(delta).reduce((sum, d) => sum + Math.abs(d), 0)
  if (handleDrift > 2) failures.push(`active resources drifted by ${handleDrift}: ${JSON.stringify(delta)}`)
  if (gc !== null) {
    // A few sessions may still be referenced from the last batch's bookkeeping (the game loop
    // remembers the last handler's session, a socket's last close callback may be pending).
    if (registered - collected > 8) failures.push(`${registered - collected} of ${registered} session objects were never garbage-collected`)
    for (const point of points) {
      const rssGrowth = point.rssBytes - base!.rssBytes
      if (rssGrowth > Math.max(perCycleLimit * point.cycles, rssNoiseFloor) && point.rssSlope > perCycleLimit) {
        failures.push(
          `RSS grew ${point.rssPerCycle} bytes per cycle at ${point.cycles} cycles (${mib(rssGrowth)}, slope ${point.rssSlope} B/cycle; ` +
            `limit ${perCycleLimit} B/cycle beyond the ${mib(rssNoiseFloor)} noise floor)`,
        )
      }
      if (point.heapPerCycle > perCycleLimit || point.heapSlope > perCycleLimit) {
        failures.push(`heap grew ${point.heapPerCycle} bytes per cycle at ${point.cycles} cycles (slope ${point.heapSlope}; limit ${perCycleLimit})`)
      }
    }
  }

  return {
    ok: failures.length === 0,
    failures,
    cycles,
    warmup,
    kinds,
    reasons: { ...ledger.reasons },
    mismatches,
    mismatchSamples,
    connects: ledger.connects,
    disconnects: ledger.disconnects,
    connectionCountAfter,
    actors: { created: census.created, alive: census.aliveCount },
    sessions: gc === null ? null : { registered, collected },
    resources: { before, after, delta },
    memory: { gc: gc !== null, base, points, series, limitPerCycle: perCycleLimit },
    durationMs: Math.round(durationMs),
    cyclesPerSecond: Math.round(total / (durationMs / 1000)),
  }
}

/**
 * Active resources once closing sockets have finished closing: the kinds counts are read after a
 * few I/O turns, when two reads 10 ms apart agree (at most 2 s).
 */
async function settledResources(): Promise<Record<string, number>> {
  let last = JSON.stringify(resourceCounts())
  const deadline = performance.now() + 2_000
  for (;;) {
    for (let i = 0; i < 3; i++) await nextIO()
    await sleep(10)
    const now = JSON.stringify(resourceCounts())
    if (now === last || performance.now() > deadline) return resourceCounts()
    last = now
  }
}

/**
 * A session that drops and resumes, on raw peers: echo one frame and get the token, reset, present
 * the token on a new connection, echo again, say GOODBYE. Resolves with the first connection's
 * port (the session's, in the ledger), or why it failed.
 */
async function dropAndResume(port: number, payload: Buffer): Promise<number | string> {
  const first = await RawPeer.open(port)
  const sessionPort = first.localPort
  try {
    await first.write(encode(1, payload))
    if (!(await until(() => first.frames.some((f) => f.id === RESUME_CONTROL_IDS.TOKEN) && first.messages.some((m) => m.id === 1), WAIT))) return 'no echo or token'
    const token = first.frames.find((f) => f.id === RESUME_CONTROL_IDS.TOKEN)!.data
    first.reset()
    const second = await RawPeer.open(port)
    try {
      const resume = resumeFrame(token, 1)
      await second.write(Buffer.concat([encode(resume.id, resume.data), encode(1, payload)]))
      if (!(await until(() => second.messages.some((m) => m.id === 1), WAIT))) return 'no echo after the resume'
      await second.write(encode(RESUME_CONTROL_IDS.GOODBYE))
      if (!(await until(() => second.closed, WAIT))) return 'the server did not close after GOODBYE'
      return sessionPort
    } finally {
      second.destroy()
    }
  } finally {
    first.destroy()
  }
}

/** Connects, echoes one frame, then stops reading and writing for good; resolves with the socket, or why it failed. */
function halfOpenPeer(port: number, frame: Buffer): Promise<{ socket: Socket; port: number } | string> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port, noDelay: true })
    let received = 0
    const timer = setTimeout(() => {
      socket.destroy()
      resolve('no echo within 5 s')
    }, WAIT)
    socket.on('error', () => {})
    socket.once('connect', () => socket.write(frame))
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received < frame.length) return
      clearTimeout(timer)
      socket.pause()
      socket.removeAllListeners('data')
      resolve({ socket, port: socket.localPort! })
    })
  })
}

export function formatChurn(s: ChurnSummary): string {
  const mem = s.memory.gc
    ? s.memory.points.map(
        (p) =>
          `  memory @${String(p.cycles).padEnd(6)}     RSS ${mib(p.rssBytes)} (${p.rssPerCycle} B/cycle, slope ${p.rssSlope}), ` +
          `heap ${mib(p.heapUsedBytes)} (${p.heapPerCycle} B/cycle, slope ${p.heapSlope}); limit ${s.memory.limitPerCycle} B/cycle`,
      )
    : ['  memory             not measured: run with node --expose-gc']
  return [
    `soak ${s.ok ? 'PASSED' : 'FAILED'} in ${(s.durationMs / 1000).toFixed(1)} s: ${s.cycles} cycles after ${s.warmup} warm-up (${s.cyclesPerSecond} cycles/s)`,
    `  kinds              fin ${s.kinds.fin}, reset ${s.kinds.reset}, resume ${s.kinds.resume}, half-open ${s.kinds['half-open']} (measured cycles)`,
    `  onDisconnect       ${Object.entries(s.reasons).map(([k, v]) => `${k} ${v}`).join(', ')} (all cycles)`,
    `  pairing            ${s.connects} onConnect, ${s.disconnects} onDisconnect, ${s.mismatches} mismatches`,
    `  after              connectionCount ${s.connectionCountAfter}, actors alive ${s.actors.alive} of ${s.actors.created} created`,
    `  sessions GC'd      ${s.sessions === null ? 'not measured' : `${s.sessions.collected} of ${s.sessions.registered}`}`,
    `  resources          before ${JSON.stringify(s.resources.before)}, after ${JSON.stringify(s.resources.after)}`,
    ...(s.memory.base === null ? [] : [`  memory base        RSS ${mib(s.memory.base.rssBytes)}, heap ${mib(s.memory.base.heapUsedBytes)} (after warm-up, after GC)`]),
    ...mem,
    ...s.mismatchSamples.map((m) => `  sample: ${m}`),
    ...s.failures.map((f) => `  FAIL: ${f}`),
    '',
  ].join('\n')
}

if (isMain(import.meta.url)) {
  const flags = parseFlags(process.argv.slice(2))
  const json = flags.has('json')
  const summary = await runChurn({
    cycles: intFlag(flags, 'cycles', 10_000),
    warmup: intFlag(flags, 'warmup', 3_000),
    concurrency: intFlag(flags, 'concurrency', 32),
    halfOpenEvery: intFlag(flags, 'half-open-every', 50),
    resume: flags.has('resume'),
    timeLimitMs: intFlag(flags, 'time-limit', 600_000),
    rssNoiseFloor: intFlag(flags, 'rss-noise-floor-mib', RSS_NOISE_FLOOR / (1024 * 1024)) * 1024 * 1024,
    log: json ? undefined : (line) => process.stderr.write(`${line}\n`),
  })
  report(summary, json, () => formatChurn(summary))
}
