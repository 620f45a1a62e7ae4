import type net from 'node:net'
import { HEARTBEAT_FRAME } from '../../src/protocol/encoder.js'
import { sleep } from '../clock.js'
import { FrameScanner } from '../frame-scanner.js'
import type { Percentiles, Window } from '../messages.js'
import { cpuMs } from './window.js'
import { percentiles } from '../stats.js'
import { CloseTracker, openSocket, precomputedFrames, resetSocket } from './sockets.js'

/**
 * Connections awaiting their first echo at once while the load opens. All 1,000 connects at once
 * overflow a 511-deep accept queue (Node's default, the ceiling's) and each dropped SYN costs a 1 s
 * (then 3 s) retransmit before the window can open; the window measures none of this.
 */
const OPEN_CONCURRENCY = 256

/** A running latency load: `measure` samples its round trips over a window, then closes it. */
export interface LatencyLoad {
  measure(window: Window): Promise<Percentiles & { generatorCpu: number }>
  close(): void
}

/**
 * Opens `connections` connections with one frame in flight each and starts their closed loops once
 * every one has had its first echo. Round-trip times are sampled over `measure`'s window only; its
 * warm-up counts from the loops' start.
 */
export async function startLatency(port: number, connections: number, payloadSize: number): Promise<LatencyLoad> {
  const { buffer: frame } = precomputedFrames(payloadSize, 1)
  const tracker = new CloseTracker()
  const sockets: net.Socket[] = []
  let samples = new Float64Array(1 << 16)
  let count = 0
  let recording = false
  // Steady-state round trips only: a connection's first echo also pays for its accept, which is
  // what the connect-rate and login-storm scenarios measure, so the loops start once every
  // connection has had one, and the window after the warm-up.
  let firstEchoes = 0
  let allEchoed: () => void = () => {}
  const everyFirstEcho = new Promise<void>((resolve) => (allEchoed = resolve))

  let failed: (error: Error) => void = () => {}
  const openFailed = new Promise<never>((_, reject) => (failed = reject))
  let started = 0
  /** Starts one connection's closed loop, once every connection has had its first echo. */
  const loops: (() => void)[] = []
  const openNext = (): void => {
    if (started === connections) return
    started++
    open()
  }
  const open = (): void => {
    const socket = openSocket(port)
    const scanner = new FrameScanner()
    let sentAt = 0
    let echoed = false
    sockets.push(socket)
    tracker.watch(socket)
    socket.on('data', (chunk: Buffer) => {
      const heartbeats = scanner.heartbeats
      if (scanner.push(chunk) > 0) {
        const now = performance.now()
        if (recording) {
          if (count === samples.length) {
            const grown = new Float64Array(samples.length * 2)
            grown.set(samples)
            samples = grown
          }
          samples[count++] = now - sentAt
        }
        if (echoed) {
          sentAt = now
          socket.write(frame)
        } else {
          // Held until every connection has its first echo: opening goes faster on a server that
          // is not also echoing for the connections already open.
          echoed = true
          openNext()
          if (++firstEchoes === connections) allEchoed()
        }
      }
      if (scanner.heartbeats !== heartbeats) socket.write(HEARTBEAT_FRAME)
    })
    socket.once('error', (error: Error) => {
      if (!echoed) failed(error)
    })
    socket.once('connect', () => socket.write(frame))
    loops.push(() => {
      sentAt = performance.now()
      socket.write(frame)
    })
  }
  const close = (): void => {
    tracker.closing = true
    for (const socket of sockets) resetSocket(socket)
  }
  for (let i = 0; i < Math.min(OPEN_CONCURRENCY, connections); i++) openNext()
  try {
    await Promise.race([
      everyFirstEcho,
      openFailed,
      sleep(30_000).then(() => {
        throw new Error(`latency: only ${firstEchoes} of ${connections} connections got a first echo in 30 s`)
      }),
    ])
  } catch (error) {
    close()
    throw error
  }
  for (const start of loops) start()
  const loopsStartedAt = performance.now()

  return {
    close,
    async measure(window) {
      await sleep(window.warmupMs - (performance.now() - loopsStartedAt))
      recording = true
      const startedAt = performance.now()
      const cpuAt = cpuMs()
      await sleep(window.durationMs)
      recording = false
      const generatorCpu = (cpuMs() - cpuAt) / (performance.now() - startedAt)
      close()
      tracker.check('latency')
      return { ...percentiles(samples.subarray(0, count)), generatorCpu }
    },
  }
}
