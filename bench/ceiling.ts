import net from 'node:net'
import { HeartbeatSweep, type Sweepable } from '../src/heartbeatSweep.js'
import { systemClock } from '../src/options.js'
import { FrameDecoder } from '../src/protocol/decoder.js'
import { frameLength, HEARTBEAT_FRAME, writeFrame } from '../src/protocol/encoder.js'
import { DEFAULT_MAX_PAYLOAD, HEARTBEAT_ID, type Message } from '../src/protocol/message.js'

export interface CeilingOptions {
  /** A socket written nothing to for this long gets a heartbeat, from a sweep every quarter of it. @default 5_000 */
  heartbeatInterval?: number
  /** @default 1_048_576 (1 MiB) */
  maxPayload?: number
  onConnect?: () => void
}

const PAUSE_BYTES = 1 << 20 // 1 MiB

/** Per-socket state, kept in one shape. */
class Connection implements Sweepable {
  readonly decoder: FrameDecoder
  /** performance.now() of the last write to it: one clock read and one field write per write, no timers. */
  lastWrite = performance.now()

  constructor(
    readonly socket: net.Socket,
    maxPayload: number,
    private readonly heartbeatInterval: number,
  ) {
    this.decoder = new FrameDecoder(maxPayload)
  }

  /** A heartbeat if nothing was written for an interval, stamped with the tick's time. */
  sweep(now: number): void {
    if (now - this.lastWrite < this.heartbeatInterval) return
    this.socket.write(HEARTBEAT_FRAME)
    this.lastWrite = now
  }
}

/** The ceiling has no game logic for the sweep to look at. */
const NO_GAME: Sweepable = { sweep: () => {} }

/**
 * The ceiling: the fastest honest zero-compatible echo server we know how to write on node:net.
 * Same streaming decoder and checksum verification as zerostate, no actors; all echo frames of
 * one socket read are encoded into one buffer and written with one `socket.write` (about 9× the
 * messages/s of a write per frame).
 *
 * Heartbeats follow zerostate's schedule, so that both send one per idle session per interval and
 * the bench's heartbeat window holds the same rounds for both: zerostate's own sweep (a plain timer
 * loop, no actors) runs every interval/4 and writes a heartbeat to each socket written nothing to
 * for at least an interval. Every other write stamps `lastWrite`.
 */
export class CeilingServer {
  private readonly server: net.Server
  private readonly connections = new Set<Connection>()
  private readonly maxPayload: number
  private readonly heartbeatInterval: number
  private readonly onConnect: () => void
  private readonly sweep: HeartbeatSweep
  /** Reused for every read: decoded frames live only until the echo is encoded. */
  private readonly frames: Message[] = []

  constructor(options: CeilingOptions = {}) {
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD
    this.heartbeatInterval = options.heartbeatInterval ?? 5_000
    this.sweep = new HeartbeatSweep(systemClock, Math.max(1, Math.floor(this.heartbeatInterval / 4)), this.connections, NO_GAME)
    this.onConnect = options.onConnect ?? (() => {})
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
  }

  get connectionCount(): number {
    return this.connections.size
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      // zerostate's accept queue: with Node's default of 511, a login storm drops SYNs here and
      // each drop costs its client a 1–3 s retransmit, which is not what the ceiling is for.
      this.server.listen({ host, port, backlog: 4096 }, () => {
        const address = this.server.address()
        if (address === null || typeof address === 'string') return reject(new Error('no TCP address'))
        this.sweep.start()
        resolve(address.port)
      })
    })
  }

  broadcast(id: number, data: Uint8Array): number {
    // Encoded once; every socket's write shares the buffer.
    const frame = Buffer.allocUnsafe(frameLength(data.length))
    writeFrame(frame, 0, id, data)
    for (const connection of this.connections) {
      connection.socket.write(frame)
      connection.lastWrite = performance.now()
    }
    return this.connections.size
  }

  stop(): Promise<void> {
    this.sweep.stop()
    for (const connection of this.connections) connection.socket.destroy()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }

  private accept(socket: net.Socket): void {
    const connection = new Connection(socket, this.maxPayload, this.heartbeatInterval)
    this.connections.add(connection)
    socket.on('data', (chunk: Buffer) => this.read(connection, chunk))
    socket.on('drain', () => socket.resume())
    socket.on('error', () => {}) // 'close' follows; a reset is an ordinary way for a peer to leave
    socket.on('close', () => this.connections.delete(connection))
    this.onConnect()
  }

  private read(connection: Connection, chunk: Buffer): void {
    const frames = this.frames
    frames.length = 0
    const error = connection.decoder.push(chunk, frames)
    let bytes = 0
    for (const frame of frames) if (frame.id !== HEARTBEAT_ID) bytes += frameLength(frame.data.length)
    if (bytes > 0) {
      const out = Buffer.allocUnsafe(bytes)
      let offset = 0
      for (const frame of frames) if (frame.id !== HEARTBEAT_ID) offset = writeFrame(out, offset, frame.id, frame.data)
      connection.lastWrite = performance.now()
      connection.socket.write(out)
      // Backpressure: stop reading a peer that does not read its echoes. A high mark, not the
      // socket's 16 KiB one, so that 64 KiB echoes do not pause and resume on every read.
      if (connection.socket.writableLength > PAUSE_BYTES) connection.socket.pause()
    }
    frames.length = 0
    if (error) connection.socket.destroy()
  }
}
