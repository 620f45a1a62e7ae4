/**
 * Fuzz: hostile byte streams against a real zerostate server on 127.0.0.1, over many concurrent
 * connections, while a well-behaved client does echo round trips throughout.
 *
 *   npm run fuzz                       # 1,000,000 frames (node --import tsx stress/fuzz.ts)
 *   npm run fuzz -- --frames 50000 --connections 32 --seed 7 --json
 *   npm run fuzz -- --server cli       # against `src/cli.ts --max-payload 4096` in a child process
 *
 * Each connection follows a plan drawn by fast-check (seeded, so a run replays): valid frames,
 * valid frames with flipped bits, a truncated stream, a size field at every boundary (0..8,
 * maxPayload + 8 ± 1, int32 min/max, -1) or random bytes, written whole or in random splits, then
 * a FIN, or for streams with no invalid frame sometimes an RST. The runner decodes what it sent with
 * the protocol rules (stress/wire.ts, independent of src/) to know the close reason the server owes
 * the connection, and checks it against what onDisconnect received for that session.
 *
 * Passes when: the server never crashed (in-process it is this process; a CLI child must not exit
 * before the SIGTERM at the end, and must then exit 0), RSS stayed under the bound,
 * every connection closed with the reason owed, every echo was a byte-exact copy of a valid frame
 * sent, every onConnect had one onDisconnect, and every round trip of the well-behaved client
 * completed within `rttLimitMs`.
 */
import { connect as netConnect } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import fc from 'fast-check'
import { type Client, connect, createServer, type Server } from '../src/index.js'
import { type CliServer, feedLedger, startCli } from './child.js'
import { type ClaimResult, SessionLedger } from './ledger.js'
import {
  intFlag,
  isMain,
  MiB,
  mib,
  parseFlags,
  percentile,
  prng,
  type Prng,
  report,
  RssSampler,
  serverFlag,
} from './util.js'
import { nextIO, orAfter, sleep, until } from '../test/helpers/wait.js'
import { boundarySizes, int32le, judgeStream, putFrame, type StreamReason, wireLength } from './wire.js'

// ---------------------------------------------------------------------------------------------
// Plans: what one attacking connection sends
// ---------------------------------------------------------------------------------------------

type End = 'fin' | 'rst'
type Tail = 'none' | 'random' | 'valid' | 'bad' | 'partial'

/** Fractions in [0, 1) of the stream length at which writes are split. */
type Splits = number[]

export type Plan =
  /** Valid frames only. */
  | { kind: 'valid'; seed: number; frames: number; splits: Splits; end: End }
  /** Valid frames with 1 to 4 bits flipped anywhere (size, id, payload or checksum). */
  | { kind: 'flipped'; seed: number; frames: number; splits: Splits; flips: { at: number; bit: number }[] }
  /** Valid frames cut short at a random byte. */
  | { kind: 'truncated'; seed: number; frames: number; splits: Splits; cut: number; end: End }
  /** Valid frames, then a frame whose size field sits on a boundary, then maybe more frames. */
  | { kind: 'boundary'; seed: number; frames: number; splits: Splits; size: number; tail: Tail; after: number }
  /** A few valid frames, then random bytes. */
  | { kind: 'random'; seed: number; frames: number; splits: Splits; length: number }

export const PLAN_KINDS = ['valid', 'flipped', 'truncated', 'boundary', 'random'] as const

/** fast-check generator of plans; shrinking makes streams shorter and simpler. */
export function planArbitrary(maxPayload: number, maxFrames: number): fc.Arbitrary<Plan> {
  const seed = fc.integer()
  const fraction = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })
  const splits = fc.array(fraction, { maxLength: 6 })
  const frames = fc.integer({ min: 1, max: maxFrames })
  const end = fc.constantFrom<End>('fin', 'rst')
  const sizes = boundarySizes(maxPayload)
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('valid' as const), seed, frames, splits, end }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('flipped' as const),
        seed,
        frames,
        splits,
        flips: fc.array(fc.record({ at: fraction, bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 4 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncated' as const), seed, frames, splits, cut: fraction, end }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('boundary' as const),
        seed,
        frames: fc.integer({ min: 0, max: maxFrames }),
        splits,
        size: fc.constantFrom(...sizes),
        tail: fc.constantFrom<Tail>('none', 'random', 'valid', 'bad', 'partial'),
        after: fc.integer({ min: 0, max: 8 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('random' as const),
        seed,
        frames: fc.integer({ min: 0, max: 3 }),
        splits,
        length: fc.integer({ min: 0, max: 2048 }),
      }),
    },
  )
}

/** A plan turned into bytes, with the verdict the server owes it. */
export interface Attack {
  plan: Plan
  bytes: Buffer
  /** Byte offsets at which the stream is written in separate writes. */
  cuts: number[]
  end: End
  /** Frames in the stream, counting a boundary frame and a run of random bytes as one each. */
  frames: number
  expected: StreamReason
  /** Byte ranges of the valid non-heartbeat frames before the first invalid one: what may be echoed. */
  echoable: Buffer[]
}

/** Random bytes shared by every payload, so building a stream is a copy, not a loop per byte. */
const POOL = ((): Buffer => {
  const r = prng(0x5eed)
  const pool = Buffer.allocUnsafe(2 * MiB)
  for (let i = 0; i < pool.length; i += 4) pool.writeInt32LE(r.int32(), i)
  return pool
})()

function randomBytes(r: Prng, n: number): Buffer {
  if (n > POOL.length) throw new Error(`randomBytes: ${n} is above the pool size`)
  const at = r.int(POOL.length - n + 1)
  return POOL.subarray(at, at + n)
}

/** Mostly small payloads, some medium, a few up to maxPayload; one id in ten is a heartbeat's 0. */
function validFrames(r: Prng, count: number, maxPayload: number): Buffer {
  const ids: number[] = []
  const lengths: number[] = []
  let total = 0
  for (let i = 0; i < count; i++) {
    const pick = r.next()
    const n = pick < 0.8 ? r.int(33) : pick < 0.95 ? 33 + r.int(Math.max(1, Math.min(480, maxPayload - 32))) : r.int(maxPayload + 1)
    const length = Math.min(n, maxPayload)
    const heartbeat = r.next() < 0.1
    ids.push(heartbeat ? 0 : r.int32() || 1)
    // A heartbeat is id 0 with empty data; an id-0 frame with data is still a valid frame.
    lengths.push(heartbeat && r.next() < 0.8 ? 0 : length)
    total += wireLength(lengths[i]!)
  }
  const out = Buffer.allocUnsafe(total)
  let offset = 0
  for (let i = 0; i < count; i++) offset = putFrame(out, offset, ids[i]!, randomBytes(r, lengths[i]!))
  return out
}

export function materialize(plan: Plan, maxPayload: number): Attack {
  const r = prng(plan.seed)
  let bytes: Buffer
  let frames = plan.frames
  let end: End = 'fin'
  switch (plan.kind) {
    case 'valid':
      bytes = validFrames(r, plan.frames, maxPayload)
      end = plan.end
      break
    case 'flipped':
      bytes = Buffer.from(validFrames(r, plan.frames, maxPayload))
      for (const { at, bit } of plan.flips) {
        const i = Math.floor(at * bytes.length)
        bytes[i] = bytes[i]! ^ (1 << bit)
      }
      break
    case 'truncated': {
      const whole = validFrames(r, plan.frames, maxPayload)
      bytes = whole.subarray(0, Math.floor(plan.cut * whole.length))
      end = plan.end
      break
    }
    case 'boundary': {
      const size = plan.size
      const parts: Buffer[] = [validFrames(r, plan.frames, maxPayload)]
      const fits = size >= 8 && size - 8 <= maxPayload
      const tail: Tail = !fits && (plan.tail === 'valid' || plan.tail === 'bad' || plan.tail === 'partial') ? 'random' : plan.tail
      if (tail === 'none') parts.push(int32le(size))
      else if (tail === 'random') parts.push(int32le(size), int32le(r.int32()), randomBytes(r, r.int(65)))
      else {
        const frame = Buffer.allocUnsafe(4 + size)
        putFrame(frame, 0, r.int32(), randomBytes(r, size - 8))
        if (tail === 'bad') frame[frame.length - 1] = frame[frame.length - 1]! ^ 0x01
        parts.push(tail === 'partial' ? frame.subarray(0, 4 + r.int(size)) : frame)
      }
      parts.push(validFrames(r, plan.after, maxPayload))
      bytes = Buffer.concat(parts)
      frames = plan.frames + 1 + plan.after
      break
    }
    case 'random':
      bytes = Buffer.concat([validFrames(r, plan.frames, maxPayload), randomBytes(r, plan.length)])
      frames = plan.frames + 1
      break
  }
  const echoable: Buffer[] = []
  const verdict = judgeStream(bytes, maxPayload, (start, stop, id) => {
    if (id !== 0) echoable.push(bytes.subarray(start, stop))
  })
  // An RST is only planned for streams without an invalid frame, where it alone decides the reason.
  if (end === 'rst' && verdict.reason !== 'client-closed') end = 'fin'
  const cuts = [...new Set(plan.splits.map((s) => Math.floor(s * bytes.length)))].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b)
  return { plan, bytes, cuts, end, frames, expected: end === 'rst' ? 'reset' : verdict.reason, echoable }
}

// ---------------------------------------------------------------------------------------------
// One attacking connection
// ---------------------------------------------------------------------------------------------

export interface AttackResult {
  actual: ClaimResult
  /** Non-heartbeat frames the server echoed. */
  echoed: number
  /** Set when the connection misbehaved beyond its close reason (hang, corrupt echo). */
  problem: string | null
}

const CONNECT_TIMEOUT = 5_000
const CLOSE_TIMEOUT = 10_000

/** Connects, writes the attack (split as planned, an I/O turn between writes), ends it, and finds the server's verdict. */
export async function runAttack(port: number, attack: Attack, ledger: SessionLedger): Promise<AttackResult> {
  const socket = netConnect({ host: '127.0.0.1', port, noDelay: true })
  const received: Buffer[] = []
  let receivedBytes = 0
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk)
    receivedBytes += chunk.length
  })
  socket.on('error', () => {})
  const closed = new Promise<true>((resolve) => socket.once('close', () => resolve(true)))
  const connected = await orAfter(
    new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true))
      socket.once('close', () => resolve(false))
    }),
    CONNECT_TIMEOUT,
    false,
  )
  if (!connected) {
    socket.destroy()
    return { actual: 'no-session', echoed: 0, problem: 'connect failed' }
  }
  const localPort = socket.localPort!
  const { bytes, cuts } = attack
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    if (socket.destroyed) break
    socket.write(bytes.subarray(from, cut))
    from = cut
    if (cut < bytes.length) await nextIO()
  }
  let problem: string | null = null
  if (attack.end === 'fin') socket.end()
  else {
    // RST only once the server has the session and has read the bytes: an RST that lands while
    // the server still has unread bytes is reported by libuv as a plain EOF (uv__stream_io takes
    // POLLHUP after a partial read for end of stream), which no server on Node can tell from a FIN.
    if (!(await ledger.until(() => ledger.hasOpenSessionOn(localPort), CONNECT_TIMEOUT))) problem = 'session never connected before RST'
    const echoBytes = attack.echoable.reduce((sum, frame) => sum + frame.length, 0)
    if (!(await until(() => receivedBytes >= echoBytes || socket.destroyed, CONNECT_TIMEOUT, 1))) problem ??= 'echoes never came back before RST'
    await nextIO()
    await sleep(2)
    socket.resetAndDestroy()
  }
  if ((await orAfter(closed, CLOSE_TIMEOUT, false)) === false) {
    problem ??= `socket still open ${CLOSE_TIMEOUT} ms after the ${attack.end === 'fin' ? 'FIN' : 'RST'}`
    socket.destroy()
  }
  const actual = await ledger.claim(localPort, CLOSE_TIMEOUT)
  const echo = checkEchoes(Buffer.concat(received), attack.echoable)
  return { actual, echoed: echo.echoed, problem: problem ?? echo.problem }
}

/** Echoes (heartbeats skipped) must be byte-exact copies of a prefix of the valid frames sent. */
function checkEchoes(stream: Buffer, echoable: Buffer[]): { echoed: number; problem: string | null } {
  let offset = 0
  let echoed = 0
  while (stream.length - offset >= 4) {
    const size = stream.readInt32LE(offset)
    if (size < 8) return { echoed, problem: `server sent a size field of ${size}` }
    const end = offset + 4 + size
    if (end > stream.length) break
    const id = stream.readInt32LE(offset + 4)
    if (id !== 0) {
      const expected = echoable[echoed]
      if (expected === undefined) return { echoed, problem: `server echoed ${echoed + 1} frames, only ${echoable.length} were valid` }
      if (!expected.equals(stream.subarray(offset, end))) return { echoed, problem: `echo ${echoed} differs from the frame sent` }
      echoed++
    }
    offset = end
  }
  return { echoed, problem: null }
}

// ---------------------------------------------------------------------------------------------
// The well-behaved client
// ---------------------------------------------------------------------------------------------

/** Echo round trips, one at a time, every `intervalMs`, until stopped; records every RTT. */
export class Pinger {
  readonly rtts: number[] = []
  /** Round trips slower than the limit. */
  late = 0
  failure: string | null = null
  private stopped = false
  readonly done: Promise<void>

  constructor(
    private readonly client: Client,
    private readonly intervalMs: number,
    private readonly limitMs: number,
  ) {
    this.done = this.loop()
  }

  stop(): Promise<void> {
    this.stopped = true
    return this.done
  }

  get maxRtt(): number {
    return this.rtts.reduce((a, b) => Math.max(a, b), 0)
  }

  p99(): number {
    return percentile([...this.rtts].sort((a, b) => a - b), 99)
  }

  private async loop(): Promise<void> {
    const TIMEOUT = Symbol('timeout')
    for (let seq = 1; !this.stopped; seq++) {
      const data = int32le(seq)
      const started = performance.now()
      if (!this.client.send({ id: 7, data })) {
        this.failure = 'the well-behaved client was closed'
        return
      }
      const reply = this.client.receive()
      reply.catch(() => {})
      let answer = await orAfter(reply, this.limitMs, TIMEOUT)
      if (answer === TIMEOUT) {
        this.late++
        answer = await orAfter(reply, 10_000, TIMEOUT)
        if (answer === TIMEOUT) {
          this.failure = `no echo of ping ${seq} within ${this.limitMs + 10_000} ms`
          return
        }
      }
      const rtt = performance.now() - started
      this.rtts.push(rtt)
      if (answer.id !== 7 || !Buffer.from(answer.data).equals(data)) {
        this.failure = `ping ${seq} came back as id ${answer.id} with ${answer.data.length} bytes`
        return
      }
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs))
    }
  }
}

/** Catches the receive() rejection of a closed client as a failure instead of an unhandled rejection. */
export async function startPinger(port: number, intervalMs: number, limitMs: number): Promise<{ client: Client; pinger: Pinger }> {
  const client = await connect({ host: '127.0.0.1', port, heartbeatInterval: 1_000 })
  const pinger = new Pinger(client, intervalMs, limitMs)
  pinger.done.catch((error: unknown) => {
    pinger.failure = `pinger: ${error instanceof Error ? error.message : String(error)}`
  })
  return { client, pinger }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/** With latency not judged, a ping still counts as late (and unanswered 10 s later, as failed) past this. */
const UNJUDGED_PING_LIMIT_MS = 10_000

export interface FuzzOptions {
  /** Frames to send in total. @default 1_000_000 */
  frames?: number
  /** Attacking connections open at once. @default 64 */
  connections?: number
  /** @default 1 */
  seed?: number
  /** The server's maxPayload: small, so maxPayload ± 1 is cheap. @default 4096 */
  maxPayload?: number
  /** Most valid frames one connection sends before its attack. @default 200 */
  maxFramesPerConnection?: number
  /** Fails when RSS goes above this. @default 300 MiB */
  rssLimit?: number
  /** The well-behaved client's every echo must come back within this; null: not judged, only that every ping is answered. @default 1000 */
  rttLimitMs?: number | null
  /** Pause between the well-behaved client's round trips. @default 10 */
  pingIntervalMs?: number
  /** Stops starting connections (and fails) once this much time has passed. @default 600_000 */
  timeLimitMs?: number
  /**
   * 'in-process' (default): createServer in this process, and onDisconnect's reasons. 'cli':
   * `src/cli.ts --max-payload N` in a child process, as `npm start` runs, and the reasons it logs;
   * RSS is then the child's.
   */
  server?: 'in-process' | 'cli'
  /** Progress lines, every few seconds. */
  log?: (line: string) => void
}

export interface FuzzSummary {
  ok: boolean
  failures: string[]
  server: 'in-process' | 'cli'
  seed: number
  maxPayload: number
  framesSent: number
  bytesSent: number
  connections: number
  plans: Record<string, number>
  /** Close reasons owed, by the runner's own decoding. */
  expected: Record<string, number>
  /** Close reasons onDisconnect reported. */
  reasons: Record<string, number>
  mismatches: number
  /** The first few mismatching plans, replayable with materialize(). */
  mismatchSamples: string[]
  connectionProblems: number
  echoedFrames: number
  /** Messages the handler ran for (in-process only). */
  serverMessages: number | null
  handlerErrors: number
  rss: { startBytes: number; maxBytes: number; limitBytes: number; scope: string }
  wellBehaved: { roundTrips: number; maxRttMs: number; p99RttMs: number; late: number; limitMs: number | null; failure: string | null }
  /** Longest this process's event loop was blocked (in-process: server and attackers alike). */
  eventLoopDelayMaxMs: number
  durationMs: number
}

export async function runFuzz(options: FuzzOptions = {}): Promise<FuzzSummary> {
  const target = options.frames ?? 1_000_000
  const concurrency = options.connections ?? 64
  const seed = options.seed ?? 1
  const maxPayload = options.maxPayload ?? 4096
  const maxFrames = options.maxFramesPerConnection ?? 200
  const rssLimit = options.rssLimit ?? 300 * MiB
  const rttLimitMs = options.rttLimitMs === undefined ? 1_000 : options.rttLimitMs
  const timeLimitMs = options.timeLimitMs ?? 600_000
  const log = options.log ?? (() => {})
  const started = performance.now()
  const deadline = started + timeLimitMs
  const failures: string[] = []

  const mode = options.server ?? 'in-process'
  const ledger = new SessionLedger()
  let serverMessages = 0
  let handlerErrors = 0
  let server: Server | null = null
  let cli: CliServer | null = null
  let port: number
  if (mode === 'cli') {
    cli = await startCli(['--port', '0', '--max-payload', String(maxPayload)], (line) => {
      if (!feedLedger(ledger, line) && line.startsWith('error ')) handlerErrors++
    })
    port = cli.port
  } else {
    server = createServer({ maxPayload })
    server.onConnect(ledger.connected)
    server.onDisconnect(ledger.disconnected)
    server.onMessage((session, message) => {
      serverMessages++
      session.send(message)
    })
    server.onError(() => {
      handlerErrors++
    })
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port
  }
  let crashed: number | string | null = null
  void cli?.exited.then((code) => {
    crashed ??= code
  })
  const rss = new RssSampler(50, cli === null ? undefined : cli.rss)
  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()
  const { client: good, pinger } = await startPinger(port, options.pingIntervalMs ?? 10, rttLimitMs ?? UNJUDGED_PING_LIMIT_MS)

  const arbitrary = planArbitrary(maxPayload, maxFrames)
  let batch: Plan[] = []
  let batchNo = 0
  const nextPlan = (): Plan => {
    if (batch.length === 0) batch = fc.sample(arbitrary, { seed: seed + batchNo++ * 7919, numRuns: 100 }).reverse()
    return batch.pop()!
  }

  let framesSent = 0
  let bytesSent = 0
  let connections = 0
  let mismatches = 0
  let connectionProblems = 0
  let echoedFrames = 0
  const mismatchSamples: string[] = []
  const plans: Record<string, number> = {}
  const expected: Record<string, number> = {}
  let lastLog = started

  const worker = async (): Promise<void> => {
    while (framesSent < target && performance.now() < deadline && pinger.failure === null && crashed === null) {
      const attack = materialize(nextPlan(), maxPayload)
      framesSent += attack.frames
      bytesSent += attack.bytes.length
      connections++
      plans[attack.plan.kind] = (plans[attack.plan.kind] ?? 0) + 1
      expected[attack.expected] = (expected[attack.expected] ?? 0) + 1
      const result = await runAttack(port, attack, ledger)
      echoedFrames += result.echoed
      if (result.actual !== attack.expected) {
        mismatches++
        if (mismatchSamples.length < 10) {
          mismatchSamples.push(`expected ${attack.expected}, got ${result.actual} (${attack.end}) for ${JSON.stringify(attack.plan)}`)
        }
      }
      if (result.problem !== null) {
        connectionProblems++
        if (mismatchSamples.length < 10) mismatchSamples.push(`${result.problem} for ${JSON.stringify(attack.plan)}`)
      }
      const now = performance.now()
      if (now - lastLog > 5_000) {
        lastLog = now
        log(
          `fuzz: ${framesSent} frames, ${connections} connections, ${mismatches} mismatches, rss ${mib(rss.sample())}, ` +
            `max rtt ${pinger.maxRtt.toFixed(1)} ms`,
        )
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))

  await pinger.stop()
  const goodOpen = good.closeReason === null
  await orAfter(good.close(), 5_000, null)
  const crashedDuringRun = crashed
  let exitCode: number | string | null = null
  let stopped: boolean
  if (cli !== null) {
    cli.child.kill('SIGTERM')
    exitCode = await orAfter(cli.exited, 15_000, null)
    stopped = exitCode !== null
    cli.kill()
  } else {
    stopped = await orAfter(
      server!.stop().then(() => true),
      15_000,
      false,
    )
  }
  await until(() => ledger.openCount === 0, 5_000)
  rss.stop()
  loopDelay.disable()

  if (framesSent < target) failures.push(`sent ${framesSent} of ${target} frames before the ${timeLimitMs} ms time limit`)
  if (mismatches > 0) failures.push(`${mismatches} connection(s) closed with a reason other than the one owed`)
  if (connectionProblems > 0) failures.push(`${connectionProblems} connection(s) hung or got a corrupt echo`)
  if (rss.max > rssLimit) failures.push(`RSS reached ${mib(rss.max)}, above the ${mib(rssLimit)} bound`)
  if (pinger.failure !== null) failures.push(pinger.failure)
  if (rttLimitMs !== null && pinger.late > 0) failures.push(`${pinger.late} round trip(s) of the well-behaved client took over ${rttLimitMs} ms`)
  if (!goodOpen) failures.push(`the well-behaved client was closed during the run (${good.closeReason})`)
  if (crashedDuringRun !== null) failures.push(`the server process exited during the run (${crashedDuringRun})`)
  if (!stopped) failures.push(cli !== null ? 'the CLI did not exit within 15 s of SIGTERM' : 'server.stop() did not resolve within 15 s')
  if (cli !== null && crashedDuringRun === null && exitCode !== null && exitCode !== 0) failures.push(`the CLI exited with ${exitCode} after SIGTERM`)
  if (server !== null && server.connectionCount !== 0) failures.push(`connectionCount is ${server.connectionCount} after stop()`)
  if (handlerErrors > 0) failures.push(`${handlerErrors} handler error(s)`)
  failures.push(...ledger.pairingProblems())

  return {
    ok: failures.length === 0,
    failures,
    server: mode,
    seed,
    maxPayload,
    framesSent,
    bytesSent,
    connections,
    plans,
    expected,
    reasons: { ...ledger.reasons },
    mismatches,
    mismatchSamples,
    connectionProblems,
    echoedFrames,
    serverMessages: server === null ? null : serverMessages,
    handlerErrors,
    rss: { startBytes: rss.start, maxBytes: rss.max, limitBytes: rssLimit, scope: cli === null ? 'whole process (server and attackers)' : 'server child process' },
    wellBehaved: {
      roundTrips: pinger.rtts.length,
      maxRttMs: round(pinger.maxRtt),
      p99RttMs: round(pinger.p99()),
      late: pinger.late,
      limitMs: rttLimitMs,
      failure: pinger.failure,
    },
    eventLoopDelayMaxMs: round(loopDelay.max / 1e6),
    durationMs: Math.round(performance.now() - started),
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}

export function formatFuzz(s: FuzzSummary): string {
  const hist = (h: Record<string, number>) =>
    Object.entries(h)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')
  return [
    `fuzz ${s.ok ? 'PASSED' : 'FAILED'} in ${(s.durationMs / 1000).toFixed(1)} s (server ${s.server}, seed ${s.seed}, maxPayload ${s.maxPayload})`,
    `  frames sent        ${s.framesSent} (${mib(s.bytesSent)}) over ${s.connections} connections`,
    `  plans              ${hist(s.plans)}`,
    `  reasons owed       ${hist(s.expected)}`,
    `  onDisconnect       ${hist(s.reasons)}`,
    `  mismatches         ${s.mismatches}; hung/corrupt connections ${s.connectionProblems}`,
    `  server handled     ${s.serverMessages ?? 'n/a'} messages; ${s.echoedFrames} echoes checked byte for byte`,
    `  RSS                start ${mib(s.rss.startBytes)}, max ${mib(s.rss.maxBytes)} (bound ${mib(s.rss.limitBytes)}; ${s.rss.scope})`,
    `  well-behaved       ${s.wellBehaved.roundTrips} round trips, max ${s.wellBehaved.maxRttMs} ms, p99 ${s.wellBehaved.p99RttMs} ms (bound ${s.wellBehaved.limitMs === null ? 'none' : `${s.wellBehaved.limitMs} ms`})`,
    `  event loop         max delay ${s.eventLoopDelayMaxMs} ms (of this process${s.server === 'cli' ? ': the attackers' : ', server and attackers together'})`,
    ...s.mismatchSamples.map((m) => `  sample: ${m}`),
    ...s.failures.map((f) => `  FAIL: ${f}`),
    '',
  ].join('\n')
}

if (isMain(import.meta.url)) {
  const flags = parseFlags(process.argv.slice(2))
  const json = flags.has('json')
  const mode = serverFlag(flags, 'in-process')
  const summary = await runFuzz({
    server: mode,
    frames: intFlag(flags, 'frames', 1_000_000),
    connections: intFlag(flags, 'connections', 64),
    seed: intFlag(flags, 'seed', 1),
    maxPayload: intFlag(flags, 'max-payload', 4096),
    rssLimit: intFlag(flags, 'rss-limit-mib', 300) * MiB,
    timeLimitMs: intFlag(flags, 'time-limit', 600_000),
    log: json ? undefined : (line) => process.stderr.write(`${line}\n`),
  })
  report(summary, json, () => formatFuzz(summary))
}
