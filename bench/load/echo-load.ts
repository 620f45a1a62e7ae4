import type net from 'node:net'
import { HEARTBEAT_FRAME } from '../../src/protocol/encoder.js'
import { FrameScanner } from '../frame-scanner.js'
import type { LoadShape } from '../messages.js'
import { CloseTracker, openSocket, precomputedFrames, resetSocket } from './sockets.js'

/**
 * A closed-loop echo load: each connection keeps `inFlight` frames outstanding and answers each
 * read's echoes with the same number of new frames, in one write, sliced from a precomputed buffer.
 */
export class EchoLoad {
  /** Data frames echoed back so far, over all connections. */
  received = 0
  readonly tracker = new CloseTracker()
  private readonly sockets: net.Socket[] = []
  private readonly burst: Buffer
  private readonly frameBytes: number

  constructor(
    private readonly port: number,
    private readonly shape: LoadShape,
  ) {
    const frames = precomputedFrames(shape.payloadSize, shape.inFlight)
    this.burst = frames.buffer
    this.frameBytes = frames.frameBytes
  }

  /** Resolves when every connection is up and has its first frames on the wire. */
  start(): Promise<void> {
    const connected: Promise<void>[] = []
    for (let i = 0; i < this.shape.connections; i++) connected.push(this.open())
    return Promise.all(connected).then(() => undefined)
  }

  close(): void {
    this.tracker.closing = true
    for (const socket of this.sockets) resetSocket(socket)
  }

  private open(): Promise<void> {
    const socket = openSocket(this.port)
    const scanner = new FrameScanner()
    this.sockets.push(socket)
    this.tracker.watch(socket)
    socket.on('data', (chunk: Buffer) => {
      const heartbeats = scanner.heartbeats
      const frames = scanner.push(chunk)
      if (frames > 0) {
        this.received += frames
        socket.write(this.burst.subarray(0, frames * this.frameBytes))
      }
      if (scanner.heartbeats !== heartbeats) socket.write(HEARTBEAT_FRAME)
    })
    return new Promise((resolve, reject) => {
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.write(this.burst)
        resolve()
      })
    })
  }
}
