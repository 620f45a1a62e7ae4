/**
 * The compiled load generator (bench/cgen/zload.c) from the orchestrator's side: built on first
 * use with `cc -O2` into bench/results/bin/ under a hash of its source (an edit rebuilds), run as
 * a child pinned to the generator's core, driven over its stdin and read from its stdout, one
 * JSON event per line. It generates the TCP and WebSocket throughput, latency and connect-rate
 * loads for zerostate and both ceilings, and Colyseus' over its own protocol, where the Node
 * generators (and Colyseus' SDK) saturated their core first.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { REPO_ROOT } from '../children.js'
import type { LoadShape, Percentiles, Window } from '../messages.js'

/**
 * `tcp`: zero frames on the socket; `ws`: in binary WebSocket messages, on path `/`; `colyseus`:
 * Colyseus 0.18's protocol as its SDK speaks it (matchmaking request, WebSocket, JOIN_ROOM
 * handshake, one `sendBytes` message per request) against bench/colyseus-server.ts's echo room.
 */
export interface CgenTarget {
  protocol: 'tcp' | 'ws' | 'colyseus'
  port: number
}

const SOURCE = path.join(REPO_ROOT, 'bench', 'cgen', 'zload.c')
const FLAGS = ['-O2', '-Wall', '-Wextra']
/**
 * As the Node loads: WebSocket sessions and TCP idle sessions (which the connect rate's are) are
 * spread over 127.0.0.1-4 (see idle-pool.ts); the TCP echo and latency loads let the kernel choose.
 */
const SOURCE_ADDRESSES = 4

/** Source addresses for the echo and latency loads: spread for WebSocket (and Colyseus), the kernel's choice for TCP. */
function loadSources(target: CgenTarget): number {
  return target.protocol === 'tcp' ? 0 : SOURCE_ADDRESSES
}
/** The priority of a load that must yield to another generator on its core (the login storm's). */
const YIELDING_NICE = 10

let binary: string | null = null

/**
 * The generator's executable, compiled if this source has not been yet. The compiler writes a
 * temporary file that is then renamed: a bench started meanwhile sees the whole binary or none.
 */
export function cgenBinary(): string {
  if (binary !== null) return binary
  const hash = createHash('sha256').update(readFileSync(SOURCE)).update(FLAGS.join(' ')).digest('hex').slice(0, 16)
  const dir = path.join(REPO_ROOT, 'bench', 'results', 'bin')
  const target = path.join(dir, `zload-${hash}`)
  if (!existsSync(target)) {
    mkdirSync(dir, { recursive: true })
    const temporary = `${target}.${process.pid}.tmp`
    execFileSync('cc', [...FLAGS, '-o', temporary, SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] })
    renameSync(temporary, target)
  }
  binary = target
  return target
}

type Event = Record<string, unknown> & { event: string }

function isEvent(value: unknown): value is Event {
  return typeof value === 'object' && value !== null && typeof (value as { event?: unknown }).event === 'string'
}

function numberField(event: Event, key: string): number {
  const value = event[key]
  if (typeof value !== 'number') throw new Error(`zload: ${event.event} event without a number ${key}: ${JSON.stringify(event)}`)
  return value
}

/** Throws if the generator saw connections closed that it did not close itself. */
function checkClosed(event: Event, what: string): void {
  const closed = numberField(event, 'closedByServer')
  if (closed > 0) throw new Error(`${what}: ${closed} connection(s) closed by the server (${String(event.firstError)})`)
}

interface Waiter {
  event: string
  resolve(event: Event): void
  reject(error: Error): void
  timer: NodeJS.Timeout
}

/** One zload child: its events in order of arrival, each taken by one `next`. */
class CgenProcess {
  private readonly child: ChildProcess
  private readonly events: Event[] = []
  private waiter: Waiter | null = null
  private failure: Error | null = null

  constructor(
    args: string[],
    cpu: number | null,
    private readonly label: string,
  ) {
    const command = cpu === null ? [cgenBinary(), ...args] : ['taskset', '-c', String(cpu), cgenBinary(), ...args]
    this.child = spawn(command[0]!, command.slice(1), { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
    this.child.stdin!.on('error', () => {}) // a generator that already exited: its exit says why
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line))
    this.child.on('error', (error) => this.fail(new Error(`${label}: ${error.message}`)))
    // 'close', not 'exit': it comes after the last line of stdout has been read.
    this.child.on('close', (code, signal) => this.fail(new Error(`${label}: zload exited (${signal ?? `code ${code}`})`)))
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** The next event, which must be `event`; an error event, an exit or the timeout rejects. */
  next(event: string, timeoutMs: number): Promise<Event> {
    const queued = this.events.shift()
    if (queued) return this.expect(queued, event)
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null
        this.kill()
        reject(new Error(`${this.label}: no ${event} event in ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiter = { event, resolve, reject, timer }
    })
  }

  command(line: string): void {
    this.child.stdin!.write(`${line}\n`)
  }

  /** Resets every connection and exits: the `stopped` event. */
  async stop(): Promise<Event> {
    this.command('stop')
    return this.next('stopped', 10_000)
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }

  private expect(got: Event, event: string): Promise<Event> {
    if (got.event === event) return Promise.resolve(got)
    this.kill()
    const message = got.event === 'error' ? String(got.message) : `expected ${event}, got ${JSON.stringify(got)}`
    return Promise.reject(new Error(`${this.label}: ${message}`))
  }

  private onLine(line: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      return this.fail(new Error(`${this.label}: not a JSON event: ${line}`))
    }
    if (!isEvent(parsed)) return this.fail(new Error(`${this.label}: not an event: ${line}`))
    const waiter = this.waiter
    if (!waiter) {
      this.events.push(parsed)
      return
    }
    this.waiter = null
    clearTimeout(waiter.timer)
    this.expect(parsed, waiter.event).then(waiter.resolve, waiter.reject)
  }

  private fail(error: Error): void {
    this.failure ??= error
    const waiter = this.waiter
    if (!waiter) return
    this.waiter = null
    clearTimeout(waiter.timer)
    waiter.reject(this.failure)
  }
}

function targetArgs(mode: 'echo' | 'latency' | 'connect', target: CgenTarget): string[] {
  return [mode, target.protocol, String(target.port)]
}

/** How long the generator's window may take beyond its warm-up and duration before it counts as hung. */
function windowTimeout(window: Window): number {
  return window.warmupMs + window.durationMs + 10_000
}

/** A closed-loop echo load running in a zload child. */
export interface CgenEchoLoad {
  /** Echoed frames per second over the window (its warm-up counted from the load's start) and the generator's share of its core. */
  measure(window: Window): Promise<{ framesPerSec: number; generatorCpu: number }>
  /** Lowers the generator's priority, so that another generator on its core goes first (the login storm's). */
  yieldCore(): void
  /** Resets every connection: echoed frames per second since the load started. */
  stop(): Promise<{ framesPerSec: number }>
  kill(): void
}

/** Starts `shape` against `target`; resolves once every connection is open with its frames sent. */
export async function startCgenEcho(target: CgenTarget, shape: LoadShape, cpu: number | null, timeoutMs = 30_000): Promise<CgenEchoLoad> {
  const sources = loadSources(target)
  const proc = new CgenProcess(
    [...targetArgs('echo', target), `conns=${shape.connections}`, `inflight=${shape.inFlight}`, `size=${shape.payloadSize}`, `sources=${sources}`, `timeout=${timeoutMs}`],
    cpu,
    `zload echo (${target.protocol})`,
  )
  try {
    await proc.next('ready', timeoutMs + 5_000)
  } catch (error) {
    proc.kill()
    throw error
  }
  return {
    async measure(window) {
      proc.command(`measure ${window.warmupMs} ${window.durationMs}`)
      const event = await proc.next('measured', windowTimeout(window))
      checkClosed(event, `${target.protocol} echo load`)
      return { framesPerSec: numberField(event, 'framesPerSec'), generatorCpu: numberField(event, 'generatorCpu') }
    },
    yieldCore() {
      if (proc.pid !== undefined) os.setPriority(proc.pid, YIELDING_NICE)
    },
    async stop() {
      const event = await proc.stop()
      checkClosed(event, `${target.protocol} echo load`)
      return { framesPerSec: numberField(event, 'framesPerSec') }
    },
    kill: () => proc.kill(),
  }
}

/** A latency load running in a zload child; `measure` ends it. */
export interface CgenLatencyLoad {
  measure(window: Window): Promise<Percentiles & { generatorCpu: number }>
  kill(): void
}

/**
 * `connections` with one frame in flight each, opened 256 at a time awaiting their first echo (as
 * latency.ts); resolves once every loop has started. Round trips are sampled over the window only.
 */
export async function startCgenLatency(target: CgenTarget, connections: number, payloadSize: number, cpu: number | null): Promise<CgenLatencyLoad> {
  const sources = loadSources(target)
  const timeoutMs = 30_000
  const proc = new CgenProcess(
    [...targetArgs('latency', target), `conns=${connections}`, `size=${payloadSize}`, 'concurrency=256', `sources=${sources}`, `timeout=${timeoutMs}`],
    cpu,
    `zload latency (${target.protocol})`,
  )
  try {
    await proc.next('ready', timeoutMs + 5_000)
  } catch (error) {
    proc.kill()
    throw error
  }
  return {
    async measure(window) {
      try {
        proc.command(`measure ${window.warmupMs} ${window.durationMs}`)
        const event = await proc.next('measured', windowTimeout(window))
        await proc.stop()
        checkClosed(event, `${target.protocol} latency load`)
        // zload writes -1 where the window held no round trip.
        const ms = (key: string): number => {
          const value = numberField(event, key)
          return value < 0 ? Number.NaN : value
        }
        return { p50: ms('p50'), p99: ms('p99'), p999: ms('p999'), max: ms('max'), count: numberField(event, 'count'), generatorCpu: numberField(event, 'generatorCpu') }
      } finally {
        proc.kill()
      }
    },
    kill: () => proc.kill(),
  }
}

/**
 * Opens `count` sessions with `concurrency` awaiting their first echo at a time, each sending one
 * frame of `payloadSize` bytes, then resets them all. `startedAt` (before the first connect) and
 * `doneAt` (the count-th first echo) are epoch ms, comparable with the server's epochNow();
 * `generatorCpu` is the generator's share of its core between them.
 */
export async function cgenConnect(
  target: CgenTarget,
  load: { count: number; concurrency: number; payloadSize: number },
  cpu: number | null,
  timeoutMs: number,
): Promise<{ startedAt: number; doneAt: number; generatorCpu: number }> {
  const proc = new CgenProcess(
    [
      ...targetArgs('connect', target),
      `count=${load.count}`,
      `concurrency=${load.concurrency}`,
      `size=${load.payloadSize}`,
      `sources=${SOURCE_ADDRESSES}`,
      `timeout=${timeoutMs}`,
    ],
    cpu,
    `zload connect (${target.protocol})`,
  )
  try {
    const event = await proc.next('connected', timeoutMs + 5_000)
    checkClosed(await proc.stop(), `${target.protocol} connect rate`)
    return { startedAt: numberField(event, 'startedAt'), doneAt: numberField(event, 'doneAt'), generatorCpu: numberField(event, 'generatorCpu') }
  } finally {
    proc.kill()
  }
}
