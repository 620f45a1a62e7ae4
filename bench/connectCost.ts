/**
 * `npx tsx bench/connectCost.ts [--servers=zerostate,ceiling,ws,ws-ceiling] [--sessions=5000]
 * [--rounds=3] [--runs=3] [--cpu-prof]`: what a session costs the server, in µs of its CPU, without
 * the network's noise. Wall-clock connect rate moves with whatever else this shared machine runs;
 * CPU time per session barely does.
 *
 * Each run starts a fresh server child (pinned to CPU 0, this process to CPU 1 when taskset is
 * there), warms it with 5,000 sessions, then for each round opens `sessions` connections with 256
 * awaiting their first echo at a time (the bench's connect-rate load), each sending one 8-byte
 * frame, and resets them all. The server child's `process.cpuUsage` is read around each phase:
 * `open` is accept to first echo (zerostate: through onConnect and the echo handler), `close` is
 * the reset to the server holding no session. Figures are medians over every round of every run.
 * `--cpu-prof` has the children write V8 profiles to bench/results/profiles/ (read one with
 * `npx tsx bench/profile-top.ts FILE`).
 *
 * `--in-process` takes the sockets out: zerostate's own work per session (ServerSession, its
 * actor, the registry, the game loop's onConnect and echo, the close), driven through the server's
 * listener seam with a transport that writes nowhere, for A/B runs on a machine too busy for the
 * socket figures to show a few µs. Over WebSocket the same code runs, so it has no mode of its own.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { encodeFrame, frameLength } from '../src/protocol/encoder.js'
import type { Transport, TransportSink } from '../src/transport/transport.js'

type ServerKind = 'zerostate' | 'ceiling' | 'ws' | 'ws-ceiling'
const KINDS: readonly ServerKind[] = ['zerostate', 'ceiling', 'ws', 'ws-ceiling']

/** Parent → child: `cpu` asks for the CPU time so far; `count` for the sessions held. */
type Request = { id: number; call: 'cpu' | 'count' | 'stop' }
type Reply = { id: number; cpu?: number; count?: number; connects?: number } | { port: number }

const CONCURRENCY = 256
const WARM_UP = 5_000
const PAYLOAD = new Uint8Array(8).fill(0x42)
const FRAME = encodeFrame(1, PAYLOAD)
const ECHO_BYTES = frameLength(PAYLOAD.length)

const here = fileURLToPath(import.meta.url)


// --- the server child ---------------------------------------------------------------------------

async function serve(kind: ServerKind): Promise<void> {
  let connects = 0
  const counted = () => void connects++
  let port: number
  let count: () => number
  let stop: () => Promise<void>
  if (kind === 'zerostate' || kind === 'ws') {
    const { createServer } = await import('../src/index.js')
    const server = createServer()
    server.onConnect(counted)
    server.onMessage((session, message) => {
      session.send(message)
    })
    port = kind === 'ws' ? (await server.listen({ host: '127.0.0.1', port: false, webSocket: { port: 0 } })).webSocket.port : (await server.listen({ host: '127.0.0.1', port: 0 })).port
    count = () => server.connectionCount
    stop = () => server.stop()
  } else if (kind === 'ceiling') {
    const { CeilingServer } = await import('./ceiling.js')
    const server = new CeilingServer({ onConnect: counted })
    port = await server.listen('127.0.0.1', 0)
    count = () => server.connectionCount
    stop = () => server.stop()
  } else {
    const { WebSocketCeilingServer } = await import('./ws-ceiling.js')
    const server = new WebSocketCeilingServer({ onConnect: counted })
    port = await server.listen('127.0.0.1', 0)
    count = () => server.connectionCount
    stop = () => server.stop()
  }
  process.on('message', (request: Request) => {
    if (request.call === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send!({ id: request.id, cpu: user + system, connects })
    } else if (request.call === 'count') {
      process.send!({ id: request.id, count: count() })
    } else {
      void stop().then(() => process.exit(0))
    }
  })
  process.send!({ port })
}

// --- the orchestrator and client ------------------------------------------------------------------

interface Child {
  process: ChildProcess
  port: number
  call(call: Request['call']): Promise<{ cpu?: number; count?: number; connects?: number }>
}

async function startChild(kind: ServerKind, cpuProf: boolean, pinned: boolean): Promise<Child> {
  // One directory per server: V8 writes a profile per thread (tsx's loader has one of its own).
  const profiles = path.join(path.dirname(here), 'results', 'profiles', `connectCost-${kind}`)
  if (cpuProf) mkdirSync(profiles, { recursive: true })
  const execArgv = ['--import', 'tsx', ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : [])]
  const child = fork(here, [], { env: { ...process.env, CONNECT_COST_SERVER: kind }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  if (pinned) execFileSync('taskset', ['-a', '-cp', '0', String(child.pid)], { stdio: 'ignore' })
  let next = 0
  const waiting = new Map<number, (reply: Reply) => void>()
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)))
    child.on('message', (reply: Reply) => {
      if ('port' in reply) return resolve(reply.port)
      waiting.get(reply.id)?.(reply)
      waiting.delete(reply.id)
    })
  })
  return {
    process: child,
    port,
    call: (call) =>
      new Promise((resolve) => {
        const id = next++
        waiting.set(id, resolve as (reply: Reply) => void)
        child.send({ id, call })
      }),
  }
}

/** An open client connection that can be reset. */
interface Peer {
  reset(): void
}

function openTcp(port: number): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true })
    let received = 0
    socket.once('connect', () => socket.write(FRAME))
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received >= ECHO_BYTES && received - chunk.length < ECHO_BYTES) resolve({ reset: () => socket.resetAndDestroy() })
    })
    socket.on('error', reject)
  })
}

function openWs(port: number): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false })
    let echoed = false
    ws.once('open', () => ws.send(FRAME))
    ws.on('message', () => {
      if (echoed) return
      echoed = true
      resolve({ reset: () => ws.terminate() })
    })
    ws.on('error', reject)
  })
}

/** Opens `n` sessions, `CONCURRENCY` awaiting their first echo at a time. */
async function openMany(kind: ServerKind, port: number, n: number): Promise<Peer[]> {
  const open = kind === 'ws' || kind === 'ws-ceiling' ? openWs : openTcp
  const peers: Peer[] = []
  let started = 0
  const worker = async () => {
    while (started < n) {
      started++
      peers.push(await open(port))
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker))
  return peers
}

async function closeAll(child: Child, peers: Peer[]): Promise<void> {
  for (const peer of peers) peer.reset()
  for (;;) {
    const { count } = await child.call('count')
    if (count === 0) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

interface Round {
  open: number
  close: number
  wallOpen: number
}

async function run(kind: ServerKind, sessions: number, rounds: number, cpuProf: boolean, pinned: boolean): Promise<Round[]> {
  const child = await startChild(kind, cpuProf, pinned)
  await closeAll(child, await openMany(kind, child.port, WARM_UP))
  const results: Round[] = []
  for (let round = 0; round < rounds; round++) {
    const before = (await child.call('cpu')).cpu!
    const started = performance.now()
    const peers = await openMany(kind, child.port, sessions)
    const wallOpen = performance.now() - started
    const opened = (await child.call('cpu')).cpu!
    await closeAll(child, peers)
    const closed = (await child.call('cpu')).cpu!
    results.push({ open: (opened - before) / sessions, close: (closed - opened) / sessions, wallOpen: (sessions / wallOpen) * 1000 })
  }
  child.call('stop').catch(() => {})
  await new Promise((resolve) => child.process.once('exit', resolve))
  return results
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function main(): Promise<void> {
  const args = new Map(
    process.argv.slice(2).map((arg) => {
      const [key, value] = arg.replace(/^--/, '').split('=')
      return [key!, value ?? 'true'] as const
    }),
  )
  const kinds = (args.get('servers')?.split(',') ?? KINDS) as ServerKind[]
  for (const kind of kinds) if (!KINDS.includes(kind)) throw new Error(`unknown server ${kind}: one of ${KINDS.join(', ')}`)
  const sessions = Number(args.get('sessions') ?? 5_000)
  const rounds = Number(args.get('rounds') ?? 3)
  const runs = Number(args.get('runs') ?? 3)
  const cpuProf = args.has('cpu-prof')
  let pinned = false
  try {
    execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' })
    pinned = true
  } catch {
    // No taskset: the OS places both.
  }
  const all = new Map<ServerKind, Round[]>(kinds.map((kind) => [kind, []]))
  // Runs alternate which server goes first, as the bench does.
  for (let r = 0; r < runs; r++) {
    const order = kinds.map((_, i) => kinds[(i + r) % kinds.length]!)
    for (const kind of order) {
      const rounds_ = await run(kind, sessions, rounds, cpuProf, pinned)
      all.get(kind)!.push(...rounds_)
      process.stderr.write(`${kind} run ${r + 1}: open ${rounds_.map((x) => x.open.toFixed(1)).join(' ')} µs, close ${rounds_.map((x) => x.close.toFixed(1)).join(' ')} µs\n`)
    }
  }
  process.stdout.write(`server CPU per session, µs (median of ${runs} runs × ${rounds} rounds of ${sessions}; ${pinned ? 'server on CPU 0, clients on CPU 1' : 'unpinned'})\n`)
  process.stdout.write(`${'server'.padEnd(12)}${'open'.padStart(8)}${'close'.padStart(8)}${'total'.padStart(8)}  sessions/s (wall, client-bound)\n`)
  for (const [kind, results] of all) {
    const open = median(results.map((x) => x.open))
    const close = median(results.map((x) => x.close))
    const total = median(results.map((x) => x.open + x.close))
    process.stdout.write(`${kind.padEnd(12)}${open.toFixed(1).padStart(8)}${close.toFixed(1).padStart(8)}${total.toFixed(1).padStart(8)}  ${median(results.map((x) => x.wallOpen)).toFixed(0)}\n`)
  }
}

// --- without sockets -------------------------------------------------------------------------------

/** What the server's listeners hand it (src/transport/listener.ts), seen from here. */
interface ArrivalsSeam {
  arrive(open: (sink: TransportSink) => Transport): void
}

/** A transport that accepts every write and goes nowhere. */
class NullTransport implements Transport {
  readonly kind = 'tcp'
  readonly request = null
  readonly remoteAddress = '127.0.0.1:1'
  readonly writableLength = 0
  written = 0
  constructor(readonly sink: TransportSink) {}
  write(): boolean {
    this.written++
    return true
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {}
  rebind(): void {}
}

async function inProcess(): Promise<void> {
  const args = new Map(process.argv.slice(2).map((arg) => [arg.replace(/^--/, '').split('=')[0]!, arg.split('=')[1] ?? 'true'] as const))
  const sessions = Number(args.get('sessions') ?? 5_000)
  const rounds = Number(args.get('rounds') ?? 7)
  const { createServer } = await import('../src/index.js')
  const server = createServer()
  server.onMessage((session, message) => {
    session.send(message)
  })
  await server.listen({ host: '127.0.0.1', port: 0 })
  const seam = server as unknown as ArrivalsSeam
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
  const round = async (n: number): Promise<{ open: number; close: number }> => {
    const transports: NullTransport[] = []
    const cpu0 = process.cpuUsage()
    // As over sockets: one accept per event-loop turn (Node's), and each session's frame read in
    // a later turn, with 256 awaiting their echo.
    for (let i = 0; i < n + CONCURRENCY; i++) {
      if (i < n) {
        seam.arrive((sink) => {
          const transport = new NullTransport(sink)
          transports.push(transport)
          return transport
        })
      }
      if (i >= CONCURRENCY) transports[i - CONCURRENCY]!.sink.onData(FRAME)
      await turn()
    }
    while (transports.some((transport) => transport.written === 0)) await turn()
    const cpu1 = process.cpuUsage()
    // Resets arrive many to a turn (one poll phase reads them all).
    for (let i = 0; i < n; i++) {
      transports[i]!.sink.onPeerClose('reset')
      if (i % CONCURRENCY === CONCURRENCY - 1) await turn()
    }
    while (server.connectionCount > 0) await turn()
    const cpu2 = process.cpuUsage()
    const us = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user + b.system - a.user - a.system) / n
    return { open: us(cpu0, cpu1), close: us(cpu1, cpu2) }
  }
  await round(WARM_UP)
  const results: { open: number; close: number }[] = []
  for (let r = 0; r < rounds; r++) results.push(await round(sessions))
  await server.stop()
  const open = median(results.map((x) => x.open))
  const close = median(results.map((x) => x.close))
  process.stdout.write(`zerostate without sockets, µs of CPU per session (median of ${rounds} rounds of ${sessions}): open ${open.toFixed(1)}  close ${close.toFixed(1)}  total ${median(results.map((x) => x.open + x.close)).toFixed(1)}\n`)
}

// Last: the classes above must be initialised before a top-level await runs them.
if (process.env.CONNECT_COST_SERVER !== undefined) {
  await serve(process.env.CONNECT_COST_SERVER as ServerKind)
} else if (process.argv.includes('--in-process')) {
  await inProcess()
} else {
  await main()
}
