import { endChild, type Placement, spawnBenchChild } from './children.js'
import type { WebSocketConfig } from './config.js'
import { emptyWsFigures, type WsFigures, type WsRunResult, type WsServerKind } from './figures.js'
import type { Generators } from './generators.js'
import { cgenConnect, type CgenTarget, startCgenEcho, startCgenLatency } from './load/cgen.js'
import type { ServerCalls, ServerStats, WsTarget } from './messages.js'
import { RpcClient } from './rpc.js'

const SETTLE_TIMEOUT_MS = 15_000
/** Each connect-rate session's one request: the idle pool's (load/ws-loads.ts). */
const CONNECT_PAYLOAD = 16

/** Each WebSocket server's child script. */
const SCRIPTS: Record<WsServerKind, string> = {
  zerostate: 'zerostate-ws-server.ts',
  ceiling: 'ws-ceiling-server.ts',
  colyseus: 'colyseus-server.ts',
}

type Log = (line: string) => void

/**
 * One WebSocket run against one server: a fresh child pinned to the server's core, driven from
 * the other core. In order: a warm-up (as the TCP prelude's: sessions opened and closed, then a
 * GC: the idle-memory baseline); RSS per idle session with the whole pool open, after a GC; the
 * connect rate on the emptied server, from the first connect to the last session's first echo;
 * then throughput and latency. Each load's window opens once the server holds nothing but that
 * load. Every load figure is stored with both sides' CPU share over it. A failing phase is
 * recorded and the next one still runs.
 *
 * The timed loads (connect rate, throughput, latency) come from the compiled generator
 * (load/cgen.ts) for all three servers: zero frames over WebSocket for zerostate and the ceiling,
 * Colyseus' own protocol for Colyseus (through its SDK, the Node generator saturated its core
 * below what Colyseus echoes). The warm-up and the idle pool stay with the Node generator (raw
 * `ws` clients; Colyseus' SDK): they measure memory, which no generator's speed enters, and the
 * SDK is Colyseus' client as a game runs it.
 */
export async function measureWebSocketServer(
  server: WsServerKind,
  run: number,
  config: WebSocketConfig,
  placement: Placement,
  generators: Generators,
  log: Log,
): Promise<WsRunResult> {
  const child = spawnBenchChild(SCRIPTS[server], placement.serverCpu, ['--expose-gc'])
  const srv = new RpcClient<ServerCalls>(child, `${server} (WebSocket)`)
  const gen = generators.main()
  const figures: WsFigures = emptyWsFigures()
  const problems: string[] = []
  const tag = `websocket ${server} run ${run}`
  const serverGone = (): boolean => child.exitCode !== null || child.signalCode !== null

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

  /** The server's share of its core between two stats calls. */
  const serverShare = (before: ServerStats, after: ServerStats, elapsedMs: number): number => (after.cpuMs - before.cpuMs) / elapsedMs

  /** Waits until the server holds exactly `count` sessions: those of the phase before are gone. */
  const settle = async (count: number, before: string): Promise<void> => {
    const { reached, sessions } = await srv.call('wait-sessions', { count, timeoutMs: SETTLE_TIMEOUT_MS })
    if (!reached) throw new Error(`the server still held ${sessions} sessions, not ${count}, ${SETTLE_TIMEOUT_MS} ms after the ${before} reset`)
  }

  /** Runs one timed generator call; returns its result and the server's CPU share over it. */
  const timed = async <T extends { generatorCpu: number }>(call: () => Promise<T>): Promise<T & { serverCpu: number }> => {
    const before = await srv.call('stats', { gc: false })
    const startedAt = performance.now()
    const result = await call()
    const after = await srv.call('stats', { gc: false })
    return { ...result, serverCpu: serverShare(before, after, performance.now() - startedAt) }
  }

  const cpuLine = (generatorCpu: number, serverCpu: number): string => `generator CPU ${pct(generatorCpu)}, server CPU ${pct(serverCpu)}`

  try {
    const { port } = await srv.call('listen', {}, 30_000)
    const target: WsTarget = { client: server === 'colyseus' ? 'colyseus' : 'zero', port }
    /** The compiled generator's side of the same target: zero frames over WebSocket, or Colyseus' protocol. */
    const compiled: CgenTarget = { protocol: target.client === 'zero' ? 'ws' : 'colyseus', port }
    const { concurrency, idle, connect } = { concurrency: config.openConcurrency, idle: config.idleSessions, connect: config.connectSessions }

    let base: ServerStats | null = null
    await phase('warm-up', async () => {
      await gen.call('ws-idle-open', { target, count: config.warmUpSessions, concurrency, timeoutMs: 60_000 }, 70_000)
      await gen.call('ws-idle-close', {})
      await settle(0, 'warm-up')
      base = await srv.call('stats', { gc: true })
    })

    await phase('idle memory', async () => {
      if (!base) throw new Error('no baseline: the warm-up failed')
      try {
        await gen.call('ws-idle-open', { target, count: idle, concurrency, timeoutMs: 120_000 }, 130_000)
        await settle(idle, 'warm-up')
        const loaded = await srv.call('stats', { gc: true })
        figures.bytesPerIdleSession = (loaded.rss - base.rss) / idle
        const { closedByServer } = await gen.call('ws-idle-stats', {})
        if (closedByServer > 0) problems.push(`idle memory: the server closed ${closedByServer} idle sessions`)
        log(`${tag}: ${idle} idle sessions: RSS ${mb(base.rss)} -> ${mb(loaded.rss)}, heap ${mb(base.heapUsed)} -> ${mb(loaded.heapUsed)}`)
      } finally {
        await gen.call('ws-idle-close', {})
      }
    })

    await phase('connect rate', async () => {
      await settle(0, 'idle sessions')
      const opened = await timed(() => cgenConnect(compiled, { count: connect, concurrency, payloadSize: CONNECT_PAYLOAD }, placement.loadCpu, 60_000))
      figures.connectRate = connect / ((opened.doneAt - opened.startedAt) / 1000)
      figures.connectGeneratorCpu = opened.generatorCpu
      figures.connectServerCpu = opened.serverCpu
      log(`${tag}: connect rate ${Math.round(figures.connectRate)} sessions/s (${connect}, connect to first echo); ${cpuLine(opened.generatorCpu, opened.serverCpu)}`)
      // The server drops them while the throughput load starts (its window waits for that).
    })

    await phase('throughput', async () => {
      const { shape, window } = config.throughput
      const load = await startCgenEcho(compiled, shape, placement.loadCpu, 60_000)
      try {
        await settle(shape.connections, 'connect-rate sessions')
        const measured = await timed(() => load.measure(window))
        figures.throughput = measured.framesPerSec
        figures.throughputGeneratorCpu = measured.generatorCpu
        figures.throughputServerCpu = measured.serverCpu
        log(`${tag}: throughput ${Math.round(measured.framesPerSec)} msg/s; ${cpuLine(measured.generatorCpu, measured.serverCpu)}`)
      } finally {
        await load.stop().finally(() => load.kill())
      }
    })

    await phase('latency', async () => {
      const { connections, payloadSize, window } = config.latency
      const load = await startCgenLatency(compiled, connections, payloadSize, placement.loadCpu)
      try {
        await settle(connections, 'throughput load')
        const latency = await timed(() => load.measure(window))
        figures.latencyP50 = latency.p50
        figures.latencyP99 = latency.p99
        figures.latencyGeneratorCpu = latency.generatorCpu
        figures.latencyServerCpu = latency.serverCpu
        log(`${tag}: latency p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms (${latency.count} round trips); ${cpuLine(latency.generatorCpu, latency.serverCpu)}`)
      } finally {
        load.kill()
      }
    })

    if (serverGone()) throw new Error(`${server} exited during the run (code ${child.exitCode ?? child.signalCode})`)
    await srv.call('stop', {}, 20_000)
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error)
    problems.push(text.split('\n')[0]!)
    log(`${tag}: FAILED: ${text}`)
  } finally {
    await gen.call('reset', {}, 10_000).catch(() => undefined)
    await endChild(child)
  }
  return { server, run, figures, problems }
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`
}
