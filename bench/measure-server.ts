import path from 'node:path'
import { endChild, type Placement, spawnBenchChild } from './children.js'
import { sleep } from './clock.js'
import { type BenchConfig, REPORT_HEARTBEAT_PER_MS } from './config.js'
import { emptyFigures, type Figures, type RunResult, type ServerKind } from './figures.js'
import type { Generators } from './generators.js'
import type { ServerCalls } from './messages.js'
import { listenOverflows } from './netstat.js'
import { RpcClient } from './rpc.js'

const BROADCAST_ID = 7
const SETTLE_TIMEOUT_MS = 15_000

type Log = (line: string) => void

/**
 * One run against one server: a fresh server child, driven by the bench's generators through
 * every scenario in turn. Idle memory comes first, while the server's heap holds nothing but a
 * warm-up. A failing phase is recorded and the next one still runs (one whose child is gone fails
 * at once).
 */
export async function measureServer(
  server: ServerKind,
  run: number,
  config: BenchConfig,
  placement: Placement,
  generators: Generators,
  log: Log,
  /** Where the server child writes a V8 CPU profile (`--cpu-prof`), if anywhere. */
  profileDir: string | null,
): Promise<RunResult> {
  const figures: Figures = emptyFigures()
  const problems: string[] = []
  // One folder per run: tsx's loader thread writes a profile too (the smaller file).
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, `${server}-run${run}`)] : []
  const serverChild = spawnBenchChild(`${server}-server.ts`, placement.serverCpu, ['--expose-gc', ...profile])
  const srv = new RpcClient<ServerCalls>(serverChild, server)
  const { main: gen, storm: stormGen } = generators.ensure()
  const tag = `${server} run ${run}`

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
  /** Waits for the server to drop every session the generator closed. */
  const settle = async (after: string): Promise<void> => {
    const { reached, sessions } = await srv.call('wait-sessions', { count: 0, timeoutMs: SETTLE_TIMEOUT_MS })
    if (!reached) problems.push(`after ${after}: server still held ${sessions} sessions ${SETTLE_TIMEOUT_MS} ms after the peers reset`)
  }

  try {
    const { port } = await srv.call('listen', {}, 30_000)
    const first = config.idleSessions[0]!

    await phase('idle memory, heartbeat, broadcast', async () => {
      // Warm-up so the baseline already holds the code paths a session uses.
      await gen.call('idle-open', { port, count: 200, concurrency: config.openConcurrency, timeoutMs: 20_000 })
      await gen.call('idle-close', {})
      await settle('warm-up')
      const base = await srv.call('stats', { gc: true })
      let open = 0
      for (const count of config.idleSessions) {
        await gen.call('idle-open', { port, count: count - open, concurrency: config.openConcurrency, timeoutMs: 120_000 })
        open = count
        const { reached, sessions } = await srv.call('wait-sessions', { count, timeoutMs: 10_000 })
        if (!reached) throw new Error(`${count} sessions echoed but the server reports ${sessions}`)
        const loaded = await srv.call('stats', { gc: true })
        const perSession = (loaded.rss - base.rss) / count
        if (count === 10_000) figures.bytesPerIdleSession10k = perSession
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
          await sleep(config.heartbeat.settleMs)
          const before = await srv.call('stats', { gc: false })
          const beats = await gen.call('idle-stats', {})
          await sleep(config.heartbeat.windowMs)
          const after = await srv.call('stats', { gc: false })
          const beatsAfter = await gen.call('idle-stats', {})
          const scale = REPORT_HEARTBEAT_PER_MS / config.heartbeat.windowMs
          figures.heartbeatCpuMs = (after.cpuMs - before.cpuMs) * scale
          figures.heartbeatsPerSession = ((beatsAfter.heartbeats - beats.heartbeats) / count) * scale
          if (beatsAfter.closedByServer > 0) problems.push(`heartbeat: the server closed ${beatsAfter.closedByServer} idle sessions that answer heartbeats`)
        }
      }
      await gen.call('idle-close', {})
      await settle('idle sessions')
    })

    await phase('connect rate', async () => {
      const count = config.connectSessions
      const { connects } = await srv.call('stats', { gc: false })
      const reached = srv.call('wait-connects', { target: connects + count, timeoutMs: 60_000 }, 70_000)
      const { startedAt } = await gen.call('idle-open', { port, count, concurrency: config.openConcurrency, timeoutMs: 60_000 })
      const { at } = await reached
      figures.connectRate = count / ((at - startedAt) / 1000)
      await gen.call('idle-close', {})
      await settle('connect rate')
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

    await phase('throughput', async () => {
      figures.throughput = (await busy('throughput', () => gen.call('echo', { port, ...config.throughput }))).framesPerSec
      await settle('throughput')
    })

    await phase('latency', async () => {
      const latency = await busy('latency', () => gen.call('latency', { port, ...config.latency }))
      figures.latencyP50 = latency.p50
      figures.latencyP99 = latency.p99
      figures.latencyP999 = latency.p999
      await settle('latency')
    })

    await phase('bulk', async () => {
      figures.bulk = (await busy('bulk', () => gen.call('echo', { port, ...config.bulk }))).payloadBytesPerSec / 1e6
      await settle('bulk')
    })

    await phase('login storm', async () => {
      const { storm } = config
      await gen.call('load-start', { port, shape: storm.saturate })
      await sleep(storm.leadMs)
      const overflows = listenOverflows()
      const burst = await stormGen.call('connect-burst', { port, count: storm.count, payloadSize: storm.payloadSize, timeoutMs: storm.timeoutMs }, storm.timeoutMs + 30_000)
      const dropped = overflows === null ? null : (listenOverflows() ?? overflows) - overflows
      const load = await gen.call('load-stop', {})
      figures.stormP99 = burst.p99
      figures.stormIncomplete = burst.incomplete
      if (burst.incomplete > 0) problems.push(`login storm: ${burst.incomplete} of ${storm.count} got no echo in ${storm.timeoutMs} ms`)
      log(
        `${tag}: storm first echo p50 ${burst.p50.toFixed(1)} ms, p99 ${burst.p99.toFixed(1)} ms, max ${burst.max.toFixed(1)} ms; ` +
          `listen-queue overflows ${dropped ?? 'unknown'}; saturating load ${Math.round(load.framesPerSec)} msg/s`,
      )
      await settle('login storm')
    })

    if (serverGone()) throw new Error(`${server} exited during the run (code ${serverChild.exitCode ?? serverChild.signalCode})`)
    await srv.call('stop', {}, 20_000)
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error)
    problems.push(text.split('\n')[0]!)
    log(`${tag}: FAILED: ${text}`)
  } finally {
    await Promise.all([gen, stormGen].map((generator) => generator.call('reset', {}, 10_000).catch(() => undefined)))
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
