import type { AddressInfo } from 'node:net'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'
import { HeartbeatSweep, type Sweepable } from '../src/heartbeatSweep.js'
import { systemClock } from '../src/options.js'
import { FrameDecoder } from '../src/protocol/decoder.js'
import { frameLength, HEARTBEAT_FRAME, writeFrame } from '../src/protocol/encoder.js'
import { DEFAULT_MAX_PAYLOAD, HEARTBEAT_ID, type Message } from '../src/protocol/message.js'

export interface WebSocketCeilingOptions {
  /** A client written nothing to for this long gets a heartbeat, from a sweep every quarter of it. @default 5_000 */
  heartbeatInterval?: number
  /** @default 1_048_576 (1 MiB) */
  maxPayload?: number
  onConnect?: () => void
}

/** Close code for a text message: the framing is binary only (RFC 6455 1003, unsupported data). */
const UNSUPPORTED_DATA = 1003
/** Close code for a frame that fails to decode (bad size or checksum): 1007, invalid payload. */
const INVALID_PAYLOAD = 1007

/** Per-client state, kept in one shape. */
class Client implements Sweepable {
  readonly decoder: FrameDecoder
  /** performance.now() of the last message sent to it. */
  lastWrite = performance.now()
  /** Echoes encoded since the last flush, one buffer per message received; sent as one message. */
  readonly pending: Buffer[] = []
  pendingBytes = 0
  /** In the server's list of clients to flush this turn. */
  dirty = false

  constructor(
    readonly ws: WebSocket,
    maxPayload: number,
    private readonly heartbeatInterval: number,
  ) {
    this.decoder = new FrameDecoder(maxPayload)
  }

  sweep(now: number): void {
    if (now - this.lastWrite < this.heartbeatInterval) return
    this.ws.send(HEARTBEAT_FRAME)
    this.lastWrite = now
  }
}

const NO_GAME: Sweepable = { sweep: () => {} }

/**
 * The WebSocket ceiling: the fastest honest zero-compatible echo server we know how to write on
 * `ws`, the library zerostate's WebSocket listener uses, with the same options (no compression,
 * no client tracking). Each binary message is decoded with zerostate's streaming decoder, which
 * verifies every checksum; its echoes are encoded at once, and everything echoed to one client in
 * one event-loop turn goes out as one WebSocket message at the end of the turn (setImmediate runs
 * after the poll phase has delivered every message read in it). Heartbeats follow zerostate's
 * schedule, as in the TCP ceiling (ceiling.ts).
 *
 * No backpressure: the bench's loads are closed loops with a bounded number of frames in flight,
 * so no client can make the server buffer more than that.
 */
export class WebSocketCeilingServer {
  private readonly clients = new Set<Client>()
  private readonly dirty: Client[] = []
  private flushScheduled = false
  private readonly maxPayload: number
  private readonly heartbeatInterval: number
  private readonly onConnect: () => void
  private readonly sweep: HeartbeatSweep
  private wss: WebSocketServer | null = null
  /** Reused for every message: decoded frames live only until their echo is encoded. */
  private readonly frames: Message[] = []

  constructor(options: WebSocketCeilingOptions = {}) {
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD
    this.heartbeatInterval = options.heartbeatInterval ?? 5_000
    this.sweep = new HeartbeatSweep(systemClock, Math.max(1, Math.floor(this.heartbeatInterval / 4)), this.clients, NO_GAME)
    this.onConnect = options.onConnect ?? (() => {})
  }

  get connectionCount(): number {
    return this.clients.size
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      // A message is at most one frame of maxPayload (the frame's 12 bytes of header and checksum on top).
      const wss = new WebSocketServer({ host, port, perMessageDeflate: false, clientTracking: false, maxPayload: frameLength(this.maxPayload) })
      this.wss = wss
      wss.once('error', reject)
      wss.once('listening', () => {
        this.sweep.start()
        resolve((wss.address() as AddressInfo).port)
      })
      wss.on('connection', (ws) => this.accept(ws))
    })
  }

  broadcast(id: number, data: Uint8Array): number {
    const frame = Buffer.allocUnsafe(frameLength(data.length))
    writeFrame(frame, 0, id, data)
    for (const client of this.clients) {
      client.ws.send(frame)
      client.lastWrite = performance.now()
    }
    return this.clients.size
  }

  stop(): Promise<void> {
    this.sweep.stop()
    for (const client of this.clients) client.ws.terminate()
    const wss = this.wss
    if (!wss) return Promise.resolve()
    return new Promise((resolve) => wss.close(() => resolve()))
  }

  private accept(ws: WebSocket): void {
    const client = new Client(ws, this.maxPayload, this.heartbeatInterval)
    this.clients.add(client)
    ws.on('message', (data: RawData, isBinary: boolean) => this.read(client, data as Buffer, isBinary))
    ws.on('error', () => {}) // 'close' follows; a reset is an ordinary way for a peer to leave
    ws.on('close', () => this.clients.delete(client))
    this.onConnect()
  }

  private read(client: Client, data: Buffer, isBinary: boolean): void {
    if (!isBinary) return client.ws.close(UNSUPPORTED_DATA)
    const frames = this.frames
    frames.length = 0
    const error = client.decoder.push(data, frames)
    let bytes = 0
    for (const frame of frames) if (frame.id !== HEARTBEAT_ID) bytes += frameLength(frame.data.length)
    if (bytes > 0) {
      const out = Buffer.allocUnsafe(bytes)
      let offset = 0
      for (const frame of frames) if (frame.id !== HEARTBEAT_ID) offset = writeFrame(out, offset, frame.id, frame.data)
      client.pending.push(out)
      client.pendingBytes += bytes
      if (!client.dirty) {
        client.dirty = true
        this.dirty.push(client)
      }
      if (!this.flushScheduled) {
        this.flushScheduled = true
        setImmediate(this.flush)
      }
    }
    frames.length = 0
    if (error) client.ws.close(INVALID_PAYLOAD)
  }

  /** One message per client that has echoes this turn. */
  private readonly flush = (): void => {
    this.flushScheduled = false
    const now = performance.now()
    for (const client of this.dirty) {
      const { pending } = client
      const message = pending.length === 1 ? pending[0]! : Buffer.concat(pending, client.pendingBytes)
      pending.length = 0
      client.pendingBytes = 0
      client.dirty = false
      client.lastWrite = now
      client.ws.send(message)
    }
    this.dirty.length = 0
  }
}
