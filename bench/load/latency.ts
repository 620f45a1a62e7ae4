import type net from 'node:net'
import { HEARTBEAT_FRAME } from '../../src/protocol/encoder.js'
import { sleep } from '../clock.js'
import { FrameScanner } from '../frame-scanner.js'
import type { Percentiles, Window } from '../messages.js'
import { cpuMs } from './window.js'
import { percentiles } from '../stats.js'
import { CloseTracker, openSocket, precomputedFrames, resetSocket } from './sockets.js'

/** Round-trip times with one frame in flight per connection, sampled over the window only. */
export async function measureLatency(port: number, connections: number, payloadSize: number, window: Window): Promise<Percentiles & { generatorCpu: number }> {
  const { buffer: frame } = precomputedFrames(payloadSize, 1)
  const tracker = new CloseTracker()
  const sockets: net.Socket[] = []
  let samples = new Float64Array(1 << 16)
  let count = 0
  let recording = false
  // Steady-state round trips only: a connection's first echo also pays for its accept, which is
  // what the connect-rate and login-storm scenarios measure, so the window waits for every one.
  let firstEchoes = 0
  let allEchoed: () => void = () => {}
  const everyFirstEcho = new Promise<void>((resolve) => (allEchoed = resolve))

  const opened = Array.from({ length: connections }, () => {
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
        sentAt = now
        socket.write(frame)
        if (!echoed) {
          echoed = true
          if (++firstEchoes === connections) allEchoed()
        }
      }
      if (scanner.heartbeats !== heartbeats) socket.write(HEARTBEAT_FRAME)
    })
    return new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.once('connect', () => {
        sentAt = performance.now()
        socket.write(frame)
        resolve()
      })
    })
  })
  await Promise.all(opened)
  await Promise.race([
    everyFirstEcho,
    sleep(30_000).then(() => {
      throw new Error(`latency: only ${firstEchoes} of ${connections} connections got a first echo in 30 s`)
    }),
  ])
  await sleep(window.warmupMs)
  recording = true
  const startedAt = performance.now()
  const cpuAt = cpuMs()
  await sleep(window.durationMs)
  recording = false
  const generatorCpu = (cpuMs() - cpuAt) / (performance.now() - startedAt)
  tracker.closing = true
  for (const socket of sockets) resetSocket(socket)
  tracker.check('latency')
  return { ...percentiles(samples.subarray(0, count)), generatorCpu }
}
