/**
 * The cluster group of `npm run bench` (alone: `npm run bench -- --only=cluster`), issue 16: what
 * crossing between nodes costs, each figure beside the same work on one node in the same run.
 * - unicast at 1,000 msg/s (open loop): one-way p50/p99 from a sender's write to its receiver's
 *   read, both ends sockets of this process (bench/cluster-load.ts), receivers on a or on b;
 * - unicast, closed loop: most msg/s through one node pair, and through one node;
 * - one broadcast to 10,000 idle sessions, all on a or 5,000 on each node: from the call to the
 *   last session's receipt (clocks compared across processes, as in the TCP broadcast);
 * - the TCP throughput load (100 connections x 16 in flight x 64 B) echoed by a clustered node and
 *   by a standalone one: what membership costs when nothing crosses.
 * Each round is a fresh cluster of its own name (its KV buckets destroyed after it), nodes a, b and
 * a standalone node in server children (bench/cluster-server.ts), the loads in this process.
 * Without NATS the group is skipped, and the report says why.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import type { NatsConnection } from '@nats-io/transport-node'
import { pathToFileURL } from 'node:url'
import { type Placement, endChild, placeProcesses, spawnBenchChild } from './children.js'
import { sleep } from './clock.js'
import { UnicastLatencyLoad, UnicastThroughputLoad, type PairsSetup } from './cluster-load.js'
import type { ClusterServerCalls } from './clusterMessages.js'
import { GENERATOR_SATURATED } from './config.js'
import { EchoLoad } from './load/echo-load.js'
import { IdlePool } from './load/idle-pool.js'
import type { LoadShape } from './messages.js'
import { RpcClient } from './rpc.js'
import { median, percentiles } from './stats.js'

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const HEARTBEAT_MS = 1_000
const BROADCAST_SIZE = 64
const OPEN_CONCURRENCY = 256
/** A node below this share of a core is quiet: only its heartbeat and the harness's calls. */
const QUIET = 0.05
/** Other processes took this much of the cores during a window: its row is marked disturbed. */
const DISTURBED = 0.2
/** Each round's cluster name is new, so no round (nor another engineer's run) sees another's directory. */
let clusters = 0

export const CLUSTER_ROWS = [
  'unicast-latency-same',
  'unicast-latency-cross',
  'unicast-max-same',
  'unicast-max-cross',
  'broadcast-one',
  'broadcast-spread',
  'echo-clustered',
  'echo-standalone',
] as const
export type ClusterRow = (typeof CLUSTER_ROWS)[number]

/** Share of a core each process used over a row's window; a node not running is null. */
export interface ClusterCpu {
  a: number
  b: number
  solo: number
  nats: number | null
  gen: number
  /**
   * Cores' worth of CPU that processes outside the bench took meanwhile (the machine's busy time
   * from /proc/stat less every process above): other work on a shared machine, which the figure
   * then also measured. Null on a window too short for /proc's 10 ms ticks, or without /proc.
   */
  other: number | null
}

export interface ClusterFigure {
  /** ms for latency (the p99) and broadcast rows; msg/s for the others. */
  value: number
  p50?: number
  p99?: number
  cpu: ClusterCpu
}

interface Sizes {
  rounds: number
  quietMs: number
  latency: { pairs: number; rate: number; warmupMs: number; windowMs: number }
  throughput: { pairs: number; inFlight: number; warmupMs: number; windowMs: number }
  broadcast: { sessions: number; repeats: number }
  echo: { shape: LoadShape; warmupMs: number; windowMs: number }
}

export interface ClusterReport {
  /** Why the group did not run (NATS unreachable); null if it ran. */
  skipped: string | null
  mode: string
  placement: string
  nats: string
  natsPid: number | null
  sizes: Sizes
  rounds: Partial<Record<ClusterRow, ClusterFigure>>[]
  medians: Partial<Record<ClusterRow, ClusterFigure>>
  problems: string[]
}

function sizesFor(mode: 'smoke' | 'quick' | 'full'): Sizes {
  if (mode === 'smoke') {
    return {
      rounds: 1,
      quietMs: 0,
      latency: { pairs: 2, rate: 1_000, warmupMs: 100, windowMs: 200 },
      throughput: { pairs: 2, inFlight: 4, warmupMs: 100, windowMs: 200 },
      broadcast: { sessions: 40, repeats: 1 },
      echo: { shape: { connections: 4, inFlight: 4, payloadSize: 64 }, warmupMs: 100, windowMs: 200 },
    }
  }
  const quick = mode === 'quick'
  return {
    rounds: quick ? 1 : 3,
    quietMs: 250,
    latency: { pairs: 10, rate: 1_000, warmupMs: quick ? 500 : 1_000, windowMs: quick ? 2_000 : 5_000 },
    throughput: { pairs: 100, inFlight: 16, warmupMs: quick ? 500 : 1_000, windowMs: quick ? 1_000 : 5_000 },
    broadcast: { sessions: 10_000, repeats: 5 },
    echo: { shape: { connections: 100, inFlight: 16, payloadSize: 64 }, warmupMs: quick ? 500 : 1_000, windowMs: quick ? 1_000 : 5_000 },
  }
}

// --- nats-server's CPU, read from /proc (it is not our process: we only read it) -----------------

const CLOCK_TICK_MS = (() => {
  try {
    return 1_000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
  } catch {
    return 10
  }
})()

/** The nats-server process listening on the URL's port, if exactly one is found. */
function findNatsServer(url: string): number | null {
  const port = Number(/:(\d+)\s*$/.exec(url)?.[1] ?? 4222)
  const found: number[] = []
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'nats-server') continue
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
        const at = args.findIndex((arg) => arg === '-p' || arg === '--port' || arg.startsWith('--port='))
        const listens = at < 0 ? 4222 : Number(args[at]!.startsWith('--port=') ? args[at]!.slice(7) : args[at + 1])
        if (listens === port) found.push(Number(entry))
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    return null // no /proc
  }
  return found.length === 1 ? found[0]! : null
}

function processCpuMs(pid: number | null): number | null {
  if (pid === null) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS
  } catch {
    return null
  }
}

/** The machine's busy CPU time, all cores: user, nice, system, irq, softirq and steal ticks of /proc/stat. */
function machineBusyMs(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
    return [0, 1, 2, 5, 6, 7].reduce((sum, index) => sum + (fields[index] ?? 0), 0) * CLOCK_TICK_MS
  } catch {
    return null
  }
}

function ownCpuMs(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

// --- one round: nodes a and b of a fresh cluster, and a standalone node -------------------------

interface Node {
  rpc: RpcClient<ClusterServerCalls>
  port: number
  child: ReturnType<typeof spawnBenchChild>
}

interface Nodes {
  a: Node
  b: Node
  solo: Node
}

interface CpuSample {
  at: number
  a: number
  b: number
  solo: number
  nats: number | null
  gen: number
  /** Busy CPU time of the whole machine (/proc/stat), in ms. */
  machine: number | null
}

class Round {
  constructor(
    readonly nodes: Nodes,
    private readonly natsPid: number | null,
    /** Each node's CPU is sampled over this long until it is below QUIET; 0: no wait (smoke). */
    private readonly quietMs: number,
  ) {}

  async sample(): Promise<CpuSample> {
    const [a, b, solo] = await Promise.all([this.nodes.a, this.nodes.b, this.nodes.solo].map((node) => node.rpc.call('cpu', undefined)))
    return { at: performance.now(), a: a!.cpuMs, b: b!.cpuMs, solo: solo!.cpuMs, nats: processCpuMs(this.natsPid), gen: ownCpuMs(), machine: machineBusyMs() }
  }

  static shares(before: CpuSample, after: CpuSample): ClusterCpu {
    const elapsed = after.at - before.at
    const share = (key: 'a' | 'b' | 'solo' | 'gen') => (after[key] - before[key]) / elapsed
    // /proc counts in clock ticks (10 ms): over a shorter window than this the share says nothing.
    const long = elapsed >= 1_000
    const nats = before.nats === null || after.nats === null || !long ? null : (after.nats - before.nats) / elapsed
    const ours = share('a') + share('b') + share('solo') + share('gen') + (nats ?? 0)
    const other = before.machine === null || after.machine === null || !long ? null : Math.max(0, (after.machine - before.machine) / elapsed - ours)
    return { a: share('a'), b: share('b'), solo: share('solo'), nats, gen: share('gen'), other }
  }

  /**
   * Every node holds no session, and is quiet: a node whose sessions close still deletes their
   * directory entries (one KV request each) for a while after, and the next window must not hold that.
   */
  async drained(): Promise<void> {
    const deadline = performance.now() + 15_000
    for (const [name, node] of Object.entries(this.nodes)) {
      for (;;) {
        const sessions = await node.rpc.call('sessions', undefined)
        if (sessions === 0) break
        if (performance.now() > deadline) throw new Error(`node ${name} still holds ${sessions} sessions 15 s after its load closed`)
        await sleep(20)
      }
    }
    if (this.quietMs === 0) return
    for (let tries = 0; tries < 40; tries++) {
      const before = await this.sample()
      await sleep(this.quietMs)
      const cpu = Round.shares(before, await this.sample())
      if (cpu.a < QUIET && cpu.b < QUIET && cpu.solo < QUIET) return
    }
  }

  pairs(to: 'a' | 'b', pairs: number): PairsSetup {
    const { a } = this.nodes
    const receiver = this.nodes[to]
    return {
      senderPort: a.port,
      receiverPort: receiver.port,
      pairs,
      idsOf: (tags) => receiver.rpc.call('ids', { tags, timeoutMs: 10_000 }),
      reachable: (ids) => (to === 'a' ? Promise.resolve() : a.rpc.call('located', { ids, node: 'b', timeoutMs: 10_000 })),
    }
  }

  async latency(to: 'a' | 'b', sizes: Sizes['latency']): Promise<ClusterFigure> {
    const load = await UnicastLatencyLoad.start(this.pairs(to, sizes.pairs), sizes.rate)
    try {
      await sleep(sizes.warmupMs)
      const before = await this.sample()
      load.recording = true
      await sleep(sizes.windowMs)
      load.recording = false
      const after = await this.sample()
      load.tracker.check(`unicast latency to ${to}`)
      const { p50, p99, count } = percentiles(load.taken())
      const expected = (sizes.rate * sizes.windowMs) / 1000
      if (count < expected * 0.8) throw new Error(`unicast latency to ${to}: ${count} frames received in the window, ${expected} sent`)
      return { value: p99, p50, p99, cpu: Round.shares(before, after) }
    } finally {
      load.close()
      await this.drained()
    }
  }

  async throughput(to: 'a' | 'b', sizes: Sizes['throughput']): Promise<ClusterFigure> {
    const load = await UnicastThroughputLoad.start(this.pairs(to, sizes.pairs), sizes.inFlight)
    try {
      return await this.rate(() => load.received, sizes, `unicast throughput to ${to}`, () => load.tracker.check(`unicast throughput to ${to}`))
    } finally {
      load.close()
      await this.drained()
    }
  }

  async echo(on: 'a' | 'solo', sizes: Sizes['echo']): Promise<ClusterFigure> {
    const load = new EchoLoad(this.nodes[on].port, sizes.shape)
    try {
      await load.start()
      return await this.rate(() => load.received, sizes, `echo on ${on}`, () => load.tracker.check(`echo on ${on}`))
    } finally {
      load.close()
      await this.drained()
    }
  }

  private async rate(read: () => number, window: { warmupMs: number; windowMs: number }, what: string, check: () => void): Promise<ClusterFigure> {
    await sleep(window.warmupMs)
    const before = await this.sample()
    const start = read()
    await sleep(window.windowMs)
    const end = read()
    const after = await this.sample()
    check()
    if (end === start) throw new Error(`${what}: nothing received in the window`)
    return { value: ((end - start) * 1000) / (after.at - before.at), cpu: Round.shares(before, after) }
  }

  /** The median of `repeats` broadcasts (after one more to warm up), every session on a or half on b. */
  async broadcast(spread: boolean, sizes: Sizes['broadcast']): Promise<ClusterFigure> {
    const pool = new IdlePool()
    const onB = spread ? Math.floor(sizes.sessions / 2) : 0
    try {
      await pool.add(this.nodes.a.port, sizes.sessions - onB, OPEN_CONCURRENCY)
      if (onB > 0) await pool.add(this.nodes.b.port, onB, OPEN_CONCURRENCY)
      const figures: ClusterFigure[] = []
      for (let i = 0; i <= sizes.repeats; i++) {
        pool.resetBroadcast()
        const before = await this.sample()
        const { at, reached } = await this.nodes.a.rpc.call('broadcast', { size: BROADCAST_SIZE })
        await pool.waitBroadcast(sizes.sessions, 10_000)
        const after = await this.sample()
        if (pool.broadcastsReceived < sizes.sessions) throw new Error(`broadcast: ${pool.broadcastsReceived} of ${sizes.sessions} sessions got it within 10 s (${reached} on a)`)
        if (i > 0) figures.push({ value: pool.lastBroadcast - at, cpu: Round.shares(before, after) })
        await sleep(50)
      }
      pool.tracker.check('broadcast sessions')
      return medianFigure(figures)!
    } finally {
      pool.close()
      await this.drained()
    }
  }
}

async function startNode(cpu: number | null, cluster: { name: string; node: string } | null, label: string): Promise<Node> {
  const child = spawnBenchChild('cluster-server.ts', cpu)
  const rpc = new RpcClient<ClusterServerCalls>(child, label)
  try {
    const { port } = await rpc.call('listen', { cluster: cluster === null ? null : { nats: NATS_URL, heartbeat: HEARTBEAT_MS, ...cluster } }, 30_000)
    return { rpc, port, child }
  } catch (error) {
    await endChild(child)
    throw error
  }
}

async function stopNode(node: Node | undefined): Promise<void> {
  if (node === undefined) return
  await node.rpc.call('stop', undefined, 10_000).catch(() => {})
  await endChild(node.child)
}

/** Destroys the KV buckets of the round's cluster: `<name>-...`, which only its nodes made. */
async function destroyBuckets(nc: NatsConnection, name: string): Promise<void> {
  const { Kvm } = await import('@nats-io/kv')
  const kvm = new Kvm(nc)
  for await (const status of kvm.list()) {
    if (!status.bucket.startsWith(`${name}-`)) continue
    await (await kvm.open(status.bucket)).destroy().catch(() => {})
  }
}

async function runRound(index: number, sizes: Sizes, placement: Placement, natsPid: number | null, nc: NatsConnection, log: (line: string) => void): Promise<Partial<Record<ClusterRow, ClusterFigure>>> {
  const name = `bench-${process.pid}-${++clusters}`
  const started: Partial<Nodes> = {}
  const figures: Partial<Record<ClusterRow, ClusterFigure>> = {}
  try {
    const [a, b, solo] = await Promise.all([
      startNode(placement.serverCpu, { name, node: 'a' }, `cluster node a (${name})`).then((node) => (started.a = node)),
      startNode(placement.loadCpu, { name, node: 'b' }, `cluster node b (${name})`).then((node) => (started.b = node)),
      startNode(placement.serverCpu, null, 'standalone node').then((node) => (started.solo = node)),
    ])
    const round = new Round({ a, b, solo }, natsPid, sizes.quietMs)
    log(`cluster round ${index}: nodes a and b of cluster ${name} and a standalone node listening`)
    // Each pair of rows alternates which goes first from round to round, so drift hits both.
    const flip = <T>(pair: [T, T]): [T, T] => (index % 2 === 1 ? pair : [pair[1], pair[0]])
    for (const to of flip(['a', 'b'] as const)) figures[to === 'a' ? 'unicast-latency-same' : 'unicast-latency-cross'] = await round.latency(to, sizes.latency)
    for (const to of flip(['a', 'b'] as const)) figures[to === 'a' ? 'unicast-max-same' : 'unicast-max-cross'] = await round.throughput(to, sizes.throughput)
    for (const on of flip(['a', 'solo'] as const)) figures[on === 'a' ? 'echo-clustered' : 'echo-standalone'] = await round.echo(on, sizes.echo)
    // Last: its 10,000 sessions make 20,000 directory writes, which other windows need not hold.
    for (const spread of flip([false, true])) figures[spread ? 'broadcast-spread' : 'broadcast-one'] = await round.broadcast(spread, sizes.broadcast)
    log(`cluster round ${index}: ${CLUSTER_ROWS.map((row) => `${row} ${figures[row]?.value.toFixed(row.startsWith('unicast-max') || row.startsWith('echo') ? 0 : 2)}`).join(', ')}`)
    return figures
  } finally {
    await Promise.all([stopNode(started.a), stopNode(started.b), stopNode(started.solo)])
    await destroyBuckets(nc, name).catch((error: unknown) => log(`cluster round ${index}: could not destroy the buckets of ${name}: ${String(error)}`))
  }
}

function medianFigure(figures: ClusterFigure[]): ClusterFigure | undefined {
  if (figures.length === 0) return undefined
  const pick = (read: (figure: ClusterFigure) => number | null | undefined) => {
    const values = figures.map(read).filter((value): value is number => typeof value === 'number')
    return values.length === 0 ? null : median(values)
  }
  const p50 = pick((figure) => figure.p50)
  const p99 = pick((figure) => figure.p99)
  return {
    value: pick((figure) => figure.value)!,
    ...(p50 === null ? {} : { p50 }),
    ...(p99 === null ? {} : { p99 }),
    cpu: {
      a: pick((figure) => figure.cpu.a)!,
      b: pick((figure) => figure.cpu.b)!,
      solo: pick((figure) => figure.cpu.solo)!,
      nats: pick((figure) => figure.cpu.nats),
      gen: pick((figure) => figure.cpu.gen)!,
      other: pick((figure) => figure.cpu.other),
    },
  }
}

/** Reaches NATS, or says why not. */
async function reachNats(): Promise<NatsConnection | string> {
  try {
    const { connect } = await import('@nats-io/transport-node')
    return await connect({ servers: NATS_URL, timeout: 2_000, reconnect: false })
  } catch (error) {
    return `NATS at ${NATS_URL} is not reachable (${(error as Error).message}); start nats-server -js to run it`
  }
}

/** Runs the group's rounds; a failed round is a problem of the report, and the others still count. */
export async function runClusterBench(mode: 'smoke' | 'quick' | 'full', placement: Placement, log: (line: string) => void = () => {}): Promise<ClusterReport> {
  const sizes = sizesFor(mode)
  const natsPid = findNatsServer(NATS_URL)
  const report: ClusterReport = { skipped: null, mode, placement: clusterPlacement(placement, natsPid), nats: NATS_URL, natsPid, sizes, rounds: [], medians: {}, problems: [] }
  const nc = await reachNats()
  if (typeof nc === 'string') {
    report.skipped = nc
    log(`cluster: skipped: ${nc}`)
    return report
  }
  try {
    for (let index = 1; index <= sizes.rounds; index++) {
      try {
        report.rounds.push(await runRound(index, sizes, placement, natsPid, nc, log))
      } catch (error) {
        const text = `cluster round ${index} failed: ${error instanceof Error ? error.message : String(error)}`
        log(text)
        report.problems.push(text)
      }
    }
  } finally {
    await nc.close()
  }
  for (const row of CLUSTER_ROWS) {
    const figure = medianFigure(report.rounds.flatMap((round) => (round[row] ? [round[row]] : [])))
    if (figure) report.medians[row] = figure
  }
  return report
}

function clusterPlacement(placement: Placement, natsPid: number | null): string {
  const nats = natsPid === null ? 'nats-server (not found in /proc: its CPU is not shown) where the OS puts it' : `nats-server (pid ${natsPid}, not ours: unpinned) where the OS puts it`
  if (placement.serverCpu === null) return `no pinning (${placement.description}); ${nats}`
  return `node a and the standalone node on CPU ${placement.serverCpu}; node b, the load generator and the orchestrator on CPU ${placement.loadCpu}; ${nats}`
}

// --- the table ------------------------------------------------------------------------------------

function label(row: ClusterRow, sizes: Sizes): string {
  const all = int(sizes.broadcast.sessions)
  const half = int(Math.floor(sizes.broadcast.sessions / 2))
  const labels: Record<ClusterRow, string> = {
    'unicast-latency-same': `unicast ${int(sizes.latency.rate)} msg/s, same node (a→a)`,
    'unicast-latency-cross': `unicast ${int(sizes.latency.rate)} msg/s, cross node (a→b)`,
    'unicast-max-same': 'unicast closed loop, same node (a→a)',
    'unicast-max-cross': 'unicast closed loop, cross node (a→b)',
    'broadcast-one': `broadcast to ${all} on a`,
    'broadcast-spread': `broadcast to ${half} on a + ${half} on b`,
    'echo-clustered': 'local echo, clustered node a',
    'echo-standalone': 'local echo, standalone node',
  }
  return labels[row]
}

const int = (value: number) => Math.round(value).toLocaleString('en-US')
const pct = (share: number | null) => (share === null ? '-' : `${(share * 100).toFixed(0)}%`)

function figureText(row: ClusterRow, figure: ClusterFigure): string {
  if (row.startsWith('unicast-latency')) return `p50 ${figure.p50!.toFixed(2)} p99 ${figure.p99!.toFixed(2)} ms`
  if (row.startsWith('broadcast')) return `${figure.value.toFixed(1)} ms`
  return `${int(figure.value)} msg/s`
}

/** µs of each process's CPU per frame of a closed loop. */
function perFrame(figure: ClusterFigure | undefined, what: string): string {
  if (figure === undefined) return `${what} -`
  const us = (share: number | null) => (share === null ? '-' : ((share * 1e6) / figure.value).toFixed(1))
  return `${what} a ${us(figure.cpu.a)} + b ${us(figure.cpu.b)} + NATS ${us(figure.cpu.nats)} µs`
}

const saturated = (figure: ClusterFigure | undefined) => figure === undefined || figure.cpu.gen > GENERATOR_SATURATED

export function clusterTable(report: ClusterReport): string {
  if (report.skipped !== null) return `cluster: skipped: ${report.skipped}`
  const { sizes, medians: m } = report
  const rounds = report.rounds.length
  const lines = [
    `cluster (issue 16), ${report.mode} run: medians of ${rounds} round${rounds === 1 ? '' : 's'} (${sizes.rounds} planned), each a fresh cluster of nodes a and b (heartbeat ${HEARTBEAT_MS} ms) on ${report.nats}, and a standalone node`,
    `cores: ${report.placement}`,
    `loads: unicast ${sizes.latency.pairs} sender/receiver pairs open loop at ${int(sizes.latency.rate)} msg/s (${sizes.latency.windowMs} ms window), one-way on one clock; ` +
      `closed loop ${sizes.throughput.pairs} pairs x ${sizes.throughput.inFlight} in flight x 64 B (${sizes.throughput.windowMs} ms); ` +
      `broadcast 64 B, median of ${sizes.broadcast.repeats}; echo ${sizes.echo.shape.connections} connections x ${sizes.echo.shape.inFlight} in flight x ${sizes.echo.shape.payloadSize} B (${sizes.echo.windowMs} ms)`,
    'CPU: share of a core over the window (broadcast: from just before the call to the last receipt); solo = the standalone node; gen = the load generator (this process); ' +
      `other = processes outside the bench (${DISTURBED * 100}% or more: disturbed, repeat the run); ` +
      `gen! = generator above ${GENERATOR_SATURATED * 100}%: the figure measured it, and its goals read ?`,
    '',
    `${'scenario'.padEnd(40)}${'figure'.padStart(26)}${'a'.padStart(7)}${'b'.padStart(7)}${'solo'.padStart(7)}${'NATS'.padStart(7)}${'gen'.padStart(7)}${'other'.padStart(7)}  at >= 90%`,
  ]
  for (const row of CLUSTER_ROWS) {
    const figure = m[row]
    if (figure === undefined) {
      lines.push(`${label(row, sizes).padEnd(40)}${'no figure'.padStart(26)}`)
      continue
    }
    const { cpu } = figure
    const busy: string[] = (['a', 'b', 'solo', 'nats', 'gen'] as const).filter((key) => (cpu[key] ?? 0) >= 0.9).map((key) => (key === 'gen' ? 'gen!' : key))
    if ((cpu.other ?? 0) >= DISTURBED) busy.push('(disturbed)')
    const text = `${figureText(row, figure)}${saturated(figure) ? ' (gen!)' : ''}`
    lines.push(`${label(row, sizes).padEnd(40)}${text.padStart(26)}${pct(cpu.a).padStart(7)}${pct(cpu.b).padStart(7)}${pct(cpu.solo).padStart(7)}${pct(cpu.nats).padStart(7)}${pct(cpu.gen).padStart(7)}${pct(cpu.other).padStart(7)}  ${busy.join(' ')}`)
  }
  const verdict = (ok: boolean, ...rows: (ClusterFigure | undefined)[]) =>
    `${rows.some(saturated) ? '?' : ok ? 'met' : 'MISSED'}${rows.some((row) => (row?.cpu.other ?? 0) >= DISTURBED) ? ' (disturbed)' : ''}`
  const echo = m['echo-clustered'] && m['echo-standalone'] ? m['echo-clustered'].value / m['echo-standalone'].value : Number.NaN
  const added = m['unicast-latency-cross'] && m['unicast-latency-same'] ? m['unicast-latency-cross'].p99! - m['unicast-latency-same'].p99! : Number.NaN
  const crossMax = m['unicast-max-cross']?.value ?? Number.NaN
  const crossVsSame = crossMax / (m['unicast-max-same']?.value ?? Number.NaN)
  const spread = (m['broadcast-spread']?.value ?? Number.NaN) / (m['broadcast-one']?.value ?? Number.NaN)
  lines.push(
    '',
    'goals (issue 16):',
    `  clustered / standalone local echo      ${echo.toFixed(2).padStart(12)}   goal >= 0.9          ${verdict(echo >= 0.9, m['echo-clustered'], m['echo-standalone'])}`,
    `  cross - same p99 at 1,000 msg/s        ${`${added >= 0 ? '+' : ''}${added.toFixed(2)} ms`.padStart(12)}   goal <= +2 ms        ${verdict(added <= 2, m['unicast-latency-cross'], m['unicast-latency-same'])}`,
    `  cross-node unicast, one node pair      ${`${int(crossMax)} msg/s`.padStart(12)}   goal >= 50,000 msg/s ${verdict(crossMax >= 50_000, m['unicast-max-cross'])}`,
    `  (no goal) cross / same closed loop ${crossVsSame.toFixed(2)}, broadcast spread / one node ${spread.toFixed(2)}`,
    `  (no goal) CPU per frame in the closed loops, which holds up better than msg/s on a busy machine: ${perFrame(m['unicast-max-same'], 'same node')}; ${perFrame(m['unicast-max-cross'], 'cross node')}`,
  )
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const placement = placeProcesses()
  const report = await runClusterBench(process.argv.includes('--smoke') ? 'smoke' : process.argv.includes('--quick') ? 'quick' : 'full', placement, (line) => process.stderr.write(`${line}\n`))
  const problems = report.problems.map((problem) => `  - ${problem}`)
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(report)}\n` : `${[clusterTable(report), ...(problems.length > 0 ? ['problems:', ...problems] : [])].join('\n')}\n`)
  process.exit(report.problems.length > 0 ? 1 : 0)
}
