import { connect as connectSocket, type Socket } from 'node:net'
import { OptionError, type ProtocolErrorCode } from './errors.js'
import { type Clock, positiveInteger, systemClock } from './options.js'
import { FrameDecoder } from './protocol/decoder.js'
import { encodeFrame, HEARTBEAT_FRAME } from './protocol/encoder.js'
import { DEFAULT_MAX_PAYLOAD, HEARTBEAT_ID, isMessage, type Message } from './protocol/message.js'

export interface ClientOptions {
  /** @default '127.0.0.1' */
  host?: string
  port: number
  /** Sends a heartbeat whenever nothing was sent for this long; 0 turns it off. @default 2_000 */
  heartbeatInterval?: number
  /** Largest payload accepted from the server. @default 1_048_576 (1 MiB) */
  maxPayload?: number
  /** @default the system clock */
  clock?: Clock
}

/** Why a client connection ended, as the client saw it. */
export type ClientCloseReason = 'client-closed' | 'server-closed' | 'reset' | ProtocolErrorCode

/** The client end of a zerostate (or zero) connection. */
export interface Client {
  /** Queues a frame; frames sent in one tick go out in one write. False once closed, or for a message that is not a frame. */
  send(message: Message): boolean
  /** Receives every message but heartbeats; without a handler, messages wait for {@link Client.receive}. */
  onMessage(handler: (message: Message) => void): void
  /** The next message not taken by an `onMessage` handler; rejects if the connection ends first. */
  receive(): Promise<Message>
  /** Closes with a FIN after writing what is queued; resolves when the socket is closed. */
  close(): Promise<void>
  /** Closes with a TCP RST, as a crashing peer would. */
  reset(): void
  readonly closeReason: ClientCloseReason | null
  /** Resolves with the reason once the connection is closed. */
  readonly closed: Promise<ClientCloseReason>
  /** Heartbeats received from the server. */
  readonly heartbeats: number
  readonly localPort: number
}

/**
 * Connects to a zerostate or zero server. The client answers every heartbeat it receives and
 * sends its own when it has sent nothing for `heartbeatInterval`.
 *
 * @example
 * const client = await connect({ port: 18787 })
 * client.send({ id: 1, data: Buffer.from('hello') })
 * const echo = await client.receive()
 */
export function connect(options: ClientOptions): Promise<Client> {
  const heartbeatInterval = options.heartbeatInterval ?? 2_000
  if (heartbeatInterval !== 0) positiveInteger('heartbeatInterval', heartbeatInterval)
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD
  positiveInteger('maxPayload', maxPayload)
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new OptionError(`Expected \`port\` to be an integer from 0 to 65535, got \`${options.port}\``)
  }
  return new Promise((resolve, reject) => {
    const socket = connectSocket({ host: options.host ?? '127.0.0.1', port: options.port, noDelay: true })
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(new ZerostateClient(socket, heartbeatInterval, maxPayload, options.clock ?? systemClock))
    })
  })
}

class ZerostateClient implements Client {
  closeReason: ClientCloseReason | null = null
  heartbeats = 0
  readonly closed: Promise<ClientCloseReason>
  readonly localPort: number
  private readonly socket: Socket
  private readonly decoder: FrameDecoder
  private readonly clock: Clock
  private readonly frames: Message[] = []
  private handler: ((message: Message) => void) | null = null
  private readonly inbox: Message[] = []
  private readonly waiting: { resolve: (message: Message) => void; reject: (error: Error) => void }[] = []
  private resolveClosed!: (reason: ClientCloseReason) => void
  private corked = false
  private lastSent: number
  private timer: unknown = null

  constructor(socket: Socket, private readonly heartbeatInterval: number, maxPayload: number, clock: Clock) {
    this.socket = socket
    this.localPort = socket.localPort ?? 0
    this.decoder = new FrameDecoder(maxPayload)
    this.clock = clock
    this.lastSent = clock.now()
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('end', () => this.finish('server-closed'))
    socket.on('error', () => this.finish('reset'))
    socket.on('close', (hadError) => this.finish(hadError ? 'reset' : 'server-closed'))
    if (heartbeatInterval > 0) this.schedule()
  }

  send(message: Message): boolean {
    return isMessage(message) && this.write(encodeFrame(message.id, message.data))
  }

  onMessage(handler: (message: Message) => void): void {
    this.handler = handler
  }

  receive(): Promise<Message> {
    const next = this.inbox.shift()
    if (next !== undefined) return Promise.resolve(next)
    if (this.closeReason !== null) return Promise.reject(new Error(`connection closed: ${this.closeReason}`))
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  close(): Promise<void> {
    if (this.closeReason === null) {
      this.finish('client-closed')
      this.socket.end()
    }
    return this.socketClosed()
  }

  reset(): void {
    if (this.closeReason === null) this.finish('client-closed')
    this.socket.resetAndDestroy()
  }

  private socketClosed(): Promise<void> {
    if (this.socket.closed) return Promise.resolve()
    return new Promise((resolve) => this.socket.once('close', () => resolve()))
  }

  private write(frame: Buffer): boolean {
    if (this.closeReason !== null) return false
    this.lastSent = this.clock.now()
    // Cork until the end of the tick so a burst of sends becomes one write.
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(() => {
        this.corked = false
        this.socket.uncork()
      })
    }
    this.socket.write(frame)
    return true
  }

  private onData(chunk: Buffer): void {
    const frames = this.frames
    frames.length = 0
    const error = this.decoder.push(chunk, frames)
    for (const frame of frames) {
      if (frame.id === HEARTBEAT_ID) {
        this.heartbeats++
        this.write(HEARTBEAT_FRAME)
      } else if (this.handler !== null) {
        this.handler(frame)
      } else {
        const waiter = this.waiting.shift()
        if (waiter !== undefined) waiter.resolve(frame)
        else this.inbox.push(frame)
      }
    }
    if (error !== null) {
      this.finish(error.code)
      this.socket.destroy()
    }
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(this.tick, Math.max(1, Math.floor(this.heartbeatInterval / 2)))
  }

  private readonly tick = (): void => {
    if (this.closeReason !== null) return
    if (this.clock.now() - this.lastSent >= this.heartbeatInterval) this.write(HEARTBEAT_FRAME)
    this.schedule()
  }

  private finish(reason: ClientCloseReason): void {
    if (this.closeReason !== null) return
    this.closeReason = reason
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    const error = new Error(`connection closed: ${reason}`)
    for (const waiter of this.waiting.splice(0)) waiter.reject(error)
    this.resolveClosed(reason)
  }
}
