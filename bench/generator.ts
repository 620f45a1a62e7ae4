/**
 * Child process: a load generator, on the core the server does not have. It opens raw node:net
 * sockets and sends precomputed frames, so that what is measured is the server; for the WebSocket
 * scenarios, raw ws clients with the same frames, or Colyseus' SDK (load/ws-peers.ts). Started
 * (twice) by bench/generators.ts.
 *
 * The loads a Node process could not drive without saturating its core (throughput, latency and
 * connect rate against zerostate and the ceilings) come from the compiled generator instead
 * (load/cgen.ts), Colyseus' too (over its protocol); this one keeps the idle pools (Colyseus'
 * through its SDK), the login storm's burst and bulk. `latency-start` and
 * `ws-load-start`/`ws-latency-start` are no longer called by the bench and stay for comparing the
 * generators by hand (with a Colyseus target: the SDK against the compiled generator).
 */
import { epochNow } from './clock.js'
import { EchoLoad } from './load/echo-load.js'
import { IdlePool } from './load/idle-pool.js'
import { type LatencyLoad, startLatency } from './load/latency.js'
import { connectBurst } from './load/connect-burst.js'
import { measureRate } from './load/window.js'
import { startWsLatency, WsEchoLoad, WsIdlePool, type WsLatencyLoad } from './load/ws-loads.js'
import type { GeneratorCalls, LoadShape } from './messages.js'
import { serveRpc } from './rpc.js'

const idle = new IdlePool()
/**
 * A closed-loop echo load in the background: throughput's (which goes on as the login storm's
 * saturating load while another generator process connects), then bulk's.
 */
let background: { load: EchoLoad; shape: LoadShape; startedAt: number } | null = null
/** The latency scenario's load, between its start and its window. */
let latency: LatencyLoad | null = null
/** The WebSocket scenarios' loads (bench/measure-websocket.ts): the same shapes, over ws-peers.ts. */
const wsIdle = new WsIdlePool()
let wsBackground: { load: WsEchoLoad; startedAt: number } | null = null
let wsLatency: WsLatencyLoad | null = null

serveRpc<GeneratorCalls>({
  'latency-start': async ({ port, connections, payloadSize }) => {
    latency?.close()
    latency = null
    latency = await startLatency(port, connections, payloadSize)
    return {}
  },
  'latency-measure': ({ window }) => {
    if (!latency) throw new Error('latency-measure: no latency load running')
    const load = latency
    latency = null
    return load.measure(window)
  },
  'idle-open': async ({ port, count, concurrency, timeoutMs }) => {
    const startedAt = epochNow()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`idle-open: ${count} sessions not all echoed after ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      await Promise.race([idle.add(port, count, concurrency), timeout])
    } finally {
      clearTimeout(timer)
    }
    return { startedAt, doneAt: epochNow() }
  },
  'idle-stats': () => ({ open: idle.open, heartbeats: idle.heartbeats, closedByServer: idle.tracker.unexpected }),
  'idle-reset-broadcast': () => {
    idle.resetBroadcast()
    return {}
  },
  'idle-wait-broadcast': async ({ expected, timeoutMs }) => {
    await idle.waitBroadcast(expected, timeoutMs)
    return { received: idle.broadcastsReceived, lastAt: idle.lastBroadcast }
  },
  'idle-close': () => {
    idle.close()
    return {}
  },
  reset: () => {
    idle.close()
    latency?.close()
    latency = null
    background?.load.close()
    background = null
    wsIdle.close()
    wsBackground?.load.close()
    wsBackground = null
    wsLatency?.close()
    wsLatency = null
    return {}
  },
  'load-start': async ({ port, shape }) => {
    background?.load.close()
    const load = new EchoLoad(port, shape)
    await load.start()
    background = { load, shape, startedAt: performance.now() }
    return {}
  },
  'load-measure': async ({ window }) => {
    if (!background) throw new Error('load-measure: no load running')
    const { load, shape, startedAt } = background
    const warmupMs = Math.max(0, window.warmupMs - (performance.now() - startedAt))
    const { rate, generatorCpu } = await measureRate({ warmupMs, durationMs: window.durationMs }, () => load.received)
    load.tracker.check('echo load')
    return { framesPerSec: rate, payloadBytesPerSec: rate * shape.payloadSize, generatorCpu }
  },
  'load-stop': () => {
    if (!background) throw new Error('load-stop: no load running')
    const { load, startedAt } = background
    background = null
    load.close()
    load.tracker.check('background load')
    return { framesPerSec: (load.received * 1000) / (performance.now() - startedAt) }
  },
  'connect-burst': (args) => connectBurst(args),
  'ws-idle-open': async ({ target, count, concurrency, timeoutMs }) => {
    const startedAt = epochNow()
    const { generatorCpu } = await wsIdle.add(target, count, concurrency, timeoutMs)
    return { startedAt, doneAt: epochNow(), generatorCpu }
  },
  'ws-idle-stats': () => ({ open: wsIdle.open, closedByServer: wsIdle.closedByServer }),
  'ws-idle-close': () => {
    wsIdle.close()
    return {}
  },
  'ws-load-start': async ({ target, shape }) => {
    wsBackground?.load.close()
    wsBackground = null
    const load = new WsEchoLoad(target, shape)
    try {
      await load.start()
    } catch (error) {
      load.close()
      throw error
    }
    wsBackground = { load, startedAt: performance.now() }
    return {}
  },
  'ws-load-measure': async ({ window }) => {
    if (!wsBackground) throw new Error('ws-load-measure: no WebSocket load running')
    const { load, startedAt } = wsBackground
    const warmupMs = Math.max(0, window.warmupMs - (performance.now() - startedAt))
    const { rate, generatorCpu } = await measureRate({ warmupMs, durationMs: window.durationMs }, () => load.received)
    load.check('ws echo load')
    return { framesPerSec: rate, generatorCpu }
  },
  'ws-load-stop': () => {
    wsBackground?.load.close()
    wsBackground = null
    return {}
  },
  'ws-latency-start': async ({ target, connections, payloadSize }) => {
    wsLatency?.close()
    wsLatency = null
    wsLatency = await startWsLatency(target, connections, payloadSize)
    return {}
  },
  'ws-latency-measure': ({ window }) => {
    if (!wsLatency) throw new Error('ws-latency-measure: no WebSocket latency load running')
    const load = wsLatency
    wsLatency = null
    return load.measure(window)
  },
})
