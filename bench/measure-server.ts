import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import { endChild, type Placement, pinProcess, spawnBenchChild } from './children.js'
import { epochNow, sleep } from './clock.js'
import { type BenchConfig, REPORT_HEARTBEAT_PER_MS } from './config.js'
import { emptyFigures, type Figures, type RunResult, type ServerKind } from './figures.js'
import type { Generators } from './generators.js'
import { cgenConnect, type CgenEchoLoad, startCgenEcho, startCgenLatency } from './load/cgen.js'
import type { GeneratorCalls, ServerCalls, ServerStats } from './messages.js'
import { listenOverflows } from './netstat.js'
import { RpcClient } from './rpc.js'

const BROADCAST_ID = 7
const SETTLE_TIMEOUT_MS = 15_000
/** Each connect-rate session's one frame: the idle pool's handshake (load/idle-pool.ts). */
const CONNECT_PAYLOAD = 16

type Log = (line: string) => void

/** A server child for one run, started before its run may begin (see run.ts). */
export interface ServerProcess {
  server: ServerKind
  run: number
  child: ChildProcess
  rpc: RpcClient<ServerCalls>
  /** The core it was started on. */
  cpu: number | null
}

/**
 * Starts the server child of one run on `cpu`. `profileDir`: where it writes a V8 CPU profile
 * (`--cpu-prof`), if anywhere; one folder per run, since tsx's loader thread writes one too (the
 * smaller file).
 */
export function spawnServer(server: ServerKind, run: number, cpu: number | null, profileDir: string | null): ServerProcess {
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, `${server}-run${run}`)] : []
  const child = spawnBenchChild(`${server}-server.ts`, cpu, ['--expose-gc', ...profile])
  return { server, run, child, rpc: new RpcClient<ServerCalls>(child, server), cpu }
}

/** A server listening, warmed up, and measured at rest: where its run's scenarios start. */
export interface Prelude {
  port: number
  listenedAt: number
  /** After the warm-up and a GC: the idle-memory baseline. */
  base: ServerStats
}

/**
 * Listen, then a warm-up so the idle-memory baseline already holds the code paths a session uses:
 * `warmUpSessions` sessions opened by `gen` and closed, then a GC. Nothing here is timed, so it can run on the
 * generator's core during another server's heartbeat window (see run.ts).
 *
 * 2,000 (quick and full runs) is enough for V8 to have optimised a session's code paths and sized
 * its young generation, as on a server that has been up a while: after 200, zerostate's connect
 * rate was still a fresh process's (2.8–3.1k/s against 4.5–4.7k/s after 2,000), and its RSS per
 * idle session counted the young generation's growth to its maximum (32 MiB, 3 KB a session at
 * 10k) as session memory.
 */
export async function prelude(
  proc: ServerProcess,
  gen: RpcClient<GeneratorCalls>,
  config: Pick<BenchConfig, 'openConcurrency' | 'warmUpSessions'>,
): Promise<Prelude> {
  const { port, listenedAt } = await proc.rpc.call('listen', {}, 30_000)
  await gen.call('idle-open', { port, count: config.warmUpSessions, concurrency: config.openConcurrency, timeoutMs: 20_000 })
  await gen.call('idle-close', {})
  const { reached, sessions } = await proc.rpc.call('wait-sessions', { count: 0, timeoutMs: SETTLE_TIMEOUT_MS })
  if (!reached) throw new Error(`warm-up: server still held ${sessions} sessions ${SETTLE_TIMEOUT_MS} ms after the peers reset`)
  return { port, listenedAt, base: await proc.rpc.call('stats', { gc: true }) }
}

/**
 * When the heartbeat window opens (epoch ms), so that it holds whole heartbeat rounds, exactly one
 * per session per interval, for both servers. Each session's first heartbeat after the broadcast
 * (its last write) falls on a sweep tick no later than the first one at or after `broadcastDoneAt`
 * + interval, and its next ones exactly an interval later. A window that opens after that tick
 * minus one interval, and is a whole number of intervals long, holds the same number of heartbeats
 * for every session (`skipRounds` intervals later, it holds steady-state rounds only; see the
 * config); opening it `marginMs` after a tick keeps each boundary clear of a tick's
 * writes and their answers. Ticks fall at `listenedAt` + k × sweep (both servers start their sweep
 * at listen(), on whole milliseconds, so up to a millisecond earlier: `SLACK_MS` covers that).
 */
export function heartbeatWindowStart(
  listenedAt: number,
  broadcastDoneAt: number,
  now: number,
  heartbeat: BenchConfig['heartbeat'],
): number {
  const SLACK_MS = 5
  const { intervalMs, sweepMs, marginMs, skipRounds } = heartbeat
  const lastFirstTick = listenedAt + Math.ceil((broadcastDoneAt + intervalMs - listenedAt + SLACK_MS) / sweepMs) * sweepMs
  const start = lastFirstTick - intervalMs + marginMs + skipRounds * intervalMs
  return start >= now ? start : start + Math.ceil((now - start) / sweepMs) * sweepMs
}

/**
 * One run against one server: its own fresh server child, driven by the bench's generators through
 * every scenario in turn: idle memory (with the broadcast and the heartbeat window, on the same
 * sessions) comes first, while the server's heap holds nothing but a warm-up; then the connect
 * rate on the emptied server, throughput, the login storm on the throughput load, latency and
 * bulk. The compiled generator (load/cgen.ts) drives the connect rate, throughput (and so the
 * storm's saturating load) and latency; the Node generators the rest. A failing phase is
 * recorded and the next one still runs (one whose child is gone fails at once). `prepared`: the server's prelude, if it already ran (else it runs here, first).
 * `quiet` is called when the server's heartbeat window is about to begin: for several seconds
 * nothing may run on the server's core and little on the generator's. What it starts must be over
 * before the next timed scenario; it is awaited after the window.
 */
export async function measureServer(
  proc: ServerProcess,
  prepared: Promise<Prelude> | null,
  config: BenchConfig,
  placement: Placement,
  generators: Generators,
  log: Log,
  quiet: () => Promise<void>,
): Promise<RunResult> {
  const { server, run, child: serverChild, rpc: srv } = proc
  const figures: Figures = emptyFigures()
  const problems: string[] = []
  const gen = generators.main()
  const tag = `${server} run ${run}`
  let meanwhile: Promise<void> = Promise.resolve()

  const serverGone = (): boolean => serverChild.exitCode !== null || serverChild.signalCode !== null
  const phase = async (name: string, body: () => Promise<void>): Promise<void> => {
    if (serverGone()) return log(`${tag}: ${name} skipped, the server is gone`)
    const started = performance.now()
    try {
      await body()
      log(`${tag}: ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error)
      problems.push(`${name}: ${text.split('\n')[0]}`)
      log(`${tag}: ${name} FAILED: ${text}`)
    }
  }

  try {
    // Started early on the generator's core (see run.ts): every thread moves to the server's.
    if (placement.serverCpu !== null && proc.cpu !== placement.serverCpu && serverChild.pid !== undefined) pinProcess(serverChild.pid, placement.serverCpu)
    const { port, listenedAt, base } = await (prepared ?? prelude(proc, gen, config))
    const first = config.idleSessions[0]!
    if (config.heartbeat.windowMs % config.heartbeat.intervalMs !== 0) throw new Error('config: the heartbeat window must be a whole number of intervals')

    const idlePhase = async (): Promise<void> => {
      let open = 0
      for (const count of config.idleSessions) {
        await gen.call('idle-open', { port, count: count - open, concurrency: config.openConcurrency, timeoutMs: 120_000 })
        open = count
        const { reached, sessions } = await srv.call('wait-sessions', { count, timeoutMs: 10_000 })
        if (!reached) throw new Error(`${count} sessions echoed but the server reports ${sessions}`)
        const loaded = await srv.call('stats', { gc: true })
        const perSession = (loaded.rss - base.rss) / count
        // The first checkpoint is 10,000 but in a smoke run.
        if (count === first) figures.bytesPerIdleSession10k = perSession
        if (count === 50_000) figures.bytesPerIdleSession50k = perSession
        log(`${tag}: ${count} idle sessions: RSS ${mb(base.rss)} -> ${mb(loaded.rss)}, heap ${mb(base.heapUsed)} -> ${mb(loaded.heapUsed)}`)
        if (count !== first) continue

        await gen.call('idle-reset-broadcast', {})
        const sent = await srv.call('broadcast', { id: BROADCAST_ID, size: config.broadcastPayloadSize })
        const got = await gen.call('idle-wait-broadcast', { expected: count, timeoutMs: 10_000 })
        if (sent.reached !== count || got.received !== count) {
          problems.push(`broadcast reached ${sent.reached} by the server's count, ${got.received} by the peers', of ${count}`)
        } else figures.broadcastMs = got.lastAt - sent.at

        // Both servers send a heartbeat to every idle session each interval, so the ceiling's CPU
        // here is the floor for that work: one write and one read per session per interval.
        {
          const { windowMs, intervalMs } = config.heartbeat
          const opensAt = heartbeatWindowStart(listenedAt, sent.doneAt, epochNow(), config.heartbeat)
          meanwhile = quiet()
          await sleep(opensAt - epochNow())
          const [before, beats] = await Promise.all([srv.call('stats', { gc: false }), gen.call('idle-stats', {})])
          await sleep(opensAt + windowMs - epochNow())
          const [after, beatsAfter] = await Promise.all([srv.call('stats', { gc: false }), gen.call('idle-stats', {})])
          const scale = REPORT_HEARTBEAT_PER_MS / windowMs
          figures.heartbeatCpuMs = (after.cpuMs - before.cpuMs) * scale
          const perSession = (beatsAfter.heartbeats - beats.heartbeats) / count
          figures.heartbeatsPerSession = perSession * scale
          log(`${tag}: heartbeat window opened ${((opensAt - sent.doneAt) / 1000).toFixed(2)} s after the broadcast, ${perSession.toFixed(3)} heartbeats per session in ${windowMs / 1000} s`)
          const expected = windowMs / intervalMs
          if (Math.abs(perSession - expected) > 0.01 * expected) {
            problems.push(`heartbeat: ${perSession.toFixed(3)} heartbeats per session in the window, not ${expected}: the sweep's ticks are not where the bench expects them`)
          }
          if (beatsAfter.closedByServer > 0) problems.push(`heartbeat: the server closed ${beatsAfter.closedByServer} idle sessions that answer heartbeats`)
          await meanwhile
        }
      }
    }
    await phase('idle memory, broadcast, heartbeat', async () => {
      try {
        await idlePhase()
      } finally {
        // The server drops them while the throughput load starts and warms up (see there).
        await gen.call('idle-close', {})
      }
    })

    /** Runs a generator call and logs how busy each side was: the busier one limits the figure. */
    const busy = async <T extends { generatorCpu: number }>(name: string, call: () => Promise<T>): Promise<T> => {
      const before = await srv.call('stats', { gc: false })
      const startedAt = performance.now()
      const result = await call()
      const after = await srv.call('stats', { gc: false })
      const serverCpu = (after.cpuMs - before.cpuMs) / (performance.now() - startedAt)
      log(`${tag}: ${name}: server CPU ${pct(serverCpu)} (whole call), generator CPU ${pct(result.generatorCpu)} (window)`)
      return result
    }

    /** Waits until the server holds exactly the `count` sessions of the load just started: the ones before it are gone. */
    const onlyLoad = async (count: number, before: string): Promise<void> => {
      const { reached, sessions } = await srv.call('wait-sessions', { count, timeoutMs: SETTLE_TIMEOUT_MS })
      if (!reached) throw new Error(`the server still held ${sessions} sessions, not the load's ${count}, ${SETTLE_TIMEOUT_MS} ms after the ${before} reset`)
    }

    // On the server emptied of the idle sessions: `connectSessions` opened with `openConcurrency`
    // awaiting their first echo at a time, as the idle pool opens them, from the first connect()
    // to the server's connectSessions-th connect report; then reset.
    await phase('connect rate', async () => {
      await onlyLoad(0, 'idle sessions')
      const count = config.connectSessions
      const { connects } = await srv.call('stats', { gc: false })
      const reached = srv.call('wait-connects', { target: connects + count, timeoutMs: 60_000 }, 70_000)
      reached.catch(() => undefined) // awaited below, unless the opening fails first
      const opened = await busy('connect rate', () =>
        cgenConnect({ protocol: 'tcp', port }, { count, concurrency: config.openConcurrency, payloadSize: CONNECT_PAYLOAD }, placement.loadCpu, 60_000),
      )
      const { at } = await reached
      figures.connectRate = count / ((at - opened.startedAt) / 1000)
      figures.connectGeneratorCpu = opened.generatorCpu
      const ownRate = count / ((opened.doneAt - opened.startedAt) / 1000)
      log(`${tag}: connect rate ${Math.round(figures.connectRate)} sessions/s (${count} sessions, ${config.openConcurrency} awaiting their first echo at a time; to the last first echo: ${Math.round(ownRate)}/s)`)
    })

    // The throughput load goes on as the login storm's saturating load, so it starts once for both.
    const { storm } = config
    const background: { load: CgenEchoLoad | null; startedAt: number } = { load: null, startedAt: 0 }
    const startLoad = async (): Promise<CgenEchoLoad> => {
      const load = await startCgenEcho({ protocol: 'tcp', port }, config.throughput.shape, placement.loadCpu)
      background.load = load
      background.startedAt = performance.now()
      return load
    }

    await phase('throughput', async () => {
      const load = await startLoad()
      // The window opens once the warm-up has run and the server holds nothing but this load: it
      // drops the connect rate's sessions meanwhile.
      await onlyLoad(config.throughput.shape.connections, 'connect-rate sessions')
      const throughput = await busy('throughput', () => load.measure(config.throughput.window))
      figures.throughput = throughput.framesPerSec
      figures.throughputGeneratorCpu = throughput.generatorCpu
    })

    await phase('login storm', async () => {
      if (background.load === null || JSON.stringify(storm.saturate) !== JSON.stringify(config.throughput.shape)) {
        await background.load?.stop()
        background.load = null
        await startLoad()
      }
      const load = background.load!
      background.load = null
      try {
        // The storm's generator, a process of its own on the same core, goes first.
        load.yieldCore()
        await sleep(storm.leadMs - (performance.now() - background.startedAt))
        const overflows = listenOverflows()
        const burst = await generators.storm().call('connect-burst', { port, count: storm.count, payloadSize: storm.payloadSize, timeoutMs: storm.timeoutMs }, storm.timeoutMs + 30_000)
        const dropped = overflows === null ? null : (listenOverflows() ?? overflows) - overflows
        const saturating = await load.stop()
        figures.stormP99 = burst.p99
        figures.stormIncomplete = burst.incomplete
        if (burst.incomplete > 0) problems.push(`login storm: ${burst.incomplete} of ${storm.count} got no echo in ${storm.timeoutMs} ms`)
        log(
          `${tag}: storm first echo p50 ${burst.p50.toFixed(1)} ms, p99 ${burst.p99.toFixed(1)} ms, max ${burst.max.toFixed(1)} ms; ` +
            `listen-queue overflows ${dropped ?? 'unknown'}; saturating load ${Math.round(saturating.framesPerSec)} msg/s`,
        )
      } finally {
        load.kill()
      }
      // The latency load opens while the server drops these sessions; its window waits for that.
    })
    // If the storm did not run, the throughput load is still going.
    background.load?.kill()

    await phase('latency', async () => {
      const { connections, payloadSize, window } = config.latency
      const latencyLoad = await startCgenLatency({ protocol: 'tcp', port }, connections, payloadSize, placement.loadCpu)
      try {
        await onlyLoad(connections, 'login storm')
        const latency = await busy('latency', () => latencyLoad.measure(window))
        figures.latencyGeneratorCpu = latency.generatorCpu
        figures.latencyP50 = latency.p50
        figures.latencyP99 = latency.p99
        figures.latencyP999 = latency.p999
      } finally {
        latencyLoad.kill()
      }
    })

    await phase('bulk', async () => {
      await gen.call('load-start', { port, shape: config.bulk.shape })
      try {
        await onlyLoad(config.bulk.shape.connections, 'latency load')
        const bulk = await busy('bulk', () => gen.call('load-measure', { window: config.bulk.window }))
        figures.bulk = bulk.payloadBytesPerSec / 1e6
        figures.bulkGeneratorCpu = bulk.generatorCpu
      } finally {
        await gen.call('load-stop', {})
      }
      // The server is stopped next: no need to wait for it to drop these sessions.
    })

    if (serverGone()) throw new Error(`${server} exited during the run (code ${serverChild.exitCode ?? serverChild.signalCode})`)
    await srv.call('stop', {}, 20_000)
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error)
    problems.push(text.split('\n')[0]!)
    log(`${tag}: FAILED: ${text}`)
  } finally {
    await meanwhile
    await Promise.all(generators.started().map((generator) => generator.call('reset', {}, 10_000).catch(() => undefined)))
    await endChild(serverChild)
  }
  return { server, run, figures, problems }
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`
}
