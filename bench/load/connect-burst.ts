import type net from 'node:net'
import { sleep } from '../clock.js'
import { FrameScanner } from '../frame-scanner.js'
import type { GeneratorCalls } from '../messages.js'
import { percentiles } from '../stats.js'
import { openSocket, precomputedFrames, resetSocket } from './sockets.js'

type BurstArgs = GeneratorCalls['connect-burst']['args']
type BurstResult = GeneratorCalls['connect-burst']['result']

/**
 * Connects issued per event-loop turn. Issuing all 1,000 in one turn blocks this process for
 * ~50 ms, and that wait would be counted against the server; slices of 100 let the replies of the
 * first connections be read while later ones are still being issued.
 */
const CONNECTS_PER_TURN = 100

/**
 * The login storm's new connections: `count` connects in one burst, each sending one frame; each
 * one's time runs from its connect() call to its echo. One with no echo by the timeout counts as
 * the timeout. Runs in a generator process of its own, so the saturating load's callbacks do not
 * delay these.
 */
export async function connectBurst(args: BurstArgs): Promise<BurstResult> {
  const { buffer: frame } = precomputedFrames(args.payloadSize, 1)
  const times = new Float64Array(args.count).fill(Number.NaN)
  const sockets: net.Socket[] = []
  let done = 0
  const allDone = new Promise<void>((resolve) => {
    let issued = 0
    const issue = (): void => {
      const end = Math.min(args.count, issued + CONNECTS_PER_TURN)
      for (; issued < end; issued++) {
        const index = issued
        const startedAt = performance.now()
        const socket = openSocket(args.port)
        const scanner = new FrameScanner()
        sockets.push(socket)
        socket.on('error', () => {}) // counted as incomplete
        socket.once('connect', () => socket.write(frame))
        socket.on('data', (chunk: Buffer) => {
          if (scanner.push(chunk) === 0 || !Number.isNaN(times[index]!)) return
          times[index] = performance.now() - startedAt
          if (++done === args.count) resolve()
        })
      }
      if (issued < args.count) setImmediate(issue)
    }
    issue()
  })
  await Promise.race([allDone, sleep(args.timeoutMs)])
  for (const socket of sockets) resetSocket(socket)
  const incomplete = args.count - done
  for (let i = 0; i < times.length; i++) if (Number.isNaN(times[i]!)) times[i] = args.timeoutMs
  return { ...percentiles(times), incomplete }
}
