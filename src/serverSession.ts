import type { Actor } from 'xstate'
import type { ConnectionEvent, ConnectionMachine, ConnectionState } from '../machines/connection.js'
import { type CloseReason, closedError, SessionClosedError } from './errors.js'
import type { GameLoop } from './gameLoop.js'
import type { Sweepable } from './heartbeatSweep.js'
import type { ResolvedOptions, VerifyRejection } from './options.js'
import { FrameDecoder } from './protocol/decoder.js'
import { OutboundQueue } from './outboundQueue.js'
import { frameLength, HEARTBEAT_FRAME } from './protocol/encoder.js'
import { HEARTBEAT_ID, isMessage, type Message } from './protocol/message.js'
import type { Session, UserId } from './session.js'
import { newSessionId } from './sessionId.js'
import type { Transport, TransportCloseReason, TransportKind, TransportSink, UpgradeRequest } from './transport/transport.js'

/** What a session needs from its server; kept narrow so the session can be read on its own. */
export interface SessionHost {
  readonly options: ResolvedOptions
  readonly game: GameLoop
  /** Scratch array for one read's frames, shared by every session since reads never interleave. */
  readonly frames: Message[]
  connectionActor(session: ServerSession): Actor<ConnectionMachine>
  scheduleFlush(session: ServerSession): void
  /** The game-logic queue is full: call `gameRelieved` on this session once it has room. */
  waitForGame(session: ServerSession): void
  released(session: ServerSession): void
}

const HANDSHAKE_TIMEOUT: ConnectionEvent = { type: 'handshake.timeout' }
const MISSED: ConnectionEvent = { type: 'heartbeat.missed' }
const TIMEOUT: ConnectionEvent = { type: 'heartbeat.timeout' }
const OVERFLOW: ConnectionEvent = { type: 'outbound.overflow' }
const KICK: ConnectionEvent = { type: 'session.kick' }
const RATE_EXCEEDED: ConnectionEvent = { type: 'rate.exceeded' }

/** Why reading from the socket is paused; reading resumes when no reason is left. */
const PAUSED_VERIFY = 1
const PAUSED_BACKPRESSURE = 2
const PAUSED_GAME = 4

/** Reasons after which the peer is gone or must not get more bytes: skip the flush and cut the socket. */
const ABRUPT: ReadonlySet<CloseReason> = new Set([
  'client-closed',
  'reset',
  'slow-consumer',
  'rate-limited',
  'heartbeat-timeout',
  'internal-error',
  'text-message',
  'message-too-large',
  'websocket-error',
])

/** The server's side of one connection: the socket, its decoder and outbound queue, and its actor. */
export class ServerSession implements Session, TransportSink, Sweepable {
  readonly id: string = newSessionId()
  userId: UserId | undefined = undefined
  closeReason: CloseReason | null = null
  /** What `onDisconnect` receives; set with `closeReason`. */
  closeError: SessionClosedError | null = null
  /** The error behind a close this session decided itself (a bad frame, a kick), kept for `closeError`. */
  private cause: SessionClosedError | null = null
  readonly remoteAddress: string
  readonly transport: TransportKind
  readonly request: UpgradeRequest | null
  readonly actor: Actor<ConnectionMachine>
  private readonly host: SessionHost
  private readonly pipe: Transport
  private readonly decoder: FrameDecoder
  private store: Map<string, unknown> | null = null
  /** Frames read before the handshake completed; delivered on activation. */
  private held: Message[] | null = null
  private readonly outbound = new OutboundQueue()
  private paused = 0
  private readonly openedAt: number
  private lastSeen: number
  private lastWrite: number
  /** Token bucket of `maxMessagesPerSecond`: frames it may still send, refilled per read. */
  private tokens: number

  constructor(host: SessionHost, createTransport: (sink: TransportSink) => Transport) {
    this.host = host
    // Frames that span reads are joined into Buffers, like the reads themselves: one kind of array
    // keeps the checksum loop monomorphic (mixing in plain Uint8Arrays halved bulk echo).
    this.decoder = new FrameDecoder(host.options.maxPayload, Buffer.allocUnsafe)
    this.pipe = createTransport(this)
    this.remoteAddress = this.pipe.remoteAddress
    this.transport = this.pipe.kind
    this.request = this.pipe.request
    this.openedAt = this.lastSeen = this.lastWrite = host.options.clock.now()
    this.tokens = host.options.maxMessagesPerSecond
    this.actor = host.connectionActor(this)
  }

  get state(): ConnectionState {
    const snapshot = this.actor.getSnapshot()
    return snapshot.hasTag('handshake') ? 'handshake' : (snapshot.value as ConnectionState)
  }

  /** Past the handshake: takes part in the game and in broadcasts. */
  get live(): boolean {
    return this.actor.getSnapshot().hasTag('live')
  }

  bindUser(userId: UserId): void {
    this.userId = userId
  }

  get<T = unknown>(key: string): T | undefined {
    return this.store?.get(key) as T | undefined
  }

  set(key: string, value: unknown): void {
    ;(this.store ??= new Map()).set(key, value)
  }

  delete(key: string): boolean {
    return this.store?.delete(key) ?? false
  }

  send(message: Message): boolean {
    if (!isMessage(message) || !this.reserve(frameLength(message.data.length))) return false
    this.outbound.encode(message.id, message.data)
    return true
  }

  close(detail?: string): void {
    if (this.closeReason !== null) return
    this.cause ??= new SessionClosedError('kicked', detail)
    this.actor.send(KICK)
  }

  /**
   * `verify` said why it rejects: its frame is written before the close, and its detail joins
   * the error `onDisconnect` receives.
   */
  rejectWith(rejection: VerifyRejection): void {
    if (this.closeReason !== null) return
    this.cause = new SessionClosedError('handshake-rejected', typeof rejection.detail === 'string' ? rejection.detail : undefined)
    this.send(rejection.reject)
  }

  /** Queues an encoded frame; broadcast shares one buffer between every session it reaches. */
  queue(frame: Buffer): boolean {
    if (!this.reserve(frame.length)) return false
    this.outbound.append(frame)
    return true
  }

  /**
   * Makes room for `length` more bytes, or closes the session with `slow-consumer` when the peer
   * is so far behind that they would pass `maxBufferedBytes`.
   */
  private reserve(length: number): boolean {
    if (this.closeReason !== null) return false
    const queued = this.outbound.bytes
    if (this.pipe.writableLength + queued + length > this.host.options.maxBufferedBytes) {
      this.actor.send(OVERFLOW)
      return false
    }
    if (queued === 0) {
      this.lastWrite = this.host.options.clock.now()
      this.host.scheduleFlush(this)
    }
    return true
  }

  /** Writes everything queued in one write: one syscall per session per tick, not per frame. */
  flush(): void {
    if (this.outbound.bytes === 0) return
    // Stop reading only well past the socket's own 16 KiB mark: pausing at every full write
    // stalls a peer that pipelines large frames (bulk echo lost a quarter of its rate). 'drain'
    // follows, since a write that leaves this much queued has returned false.
    const ok = this.pipe.write(this.outbound.take())
    if (!ok && this.pipe.writableLength > this.host.options.maxBufferedBytes / 4) this.pause(PAUSED_BACKPRESSURE)
  }

  onData(chunk: Buffer): void {
    if (this.closeReason !== null) return
    const { options } = this.host
    const now = options.clock.now()
    const elapsed = now - this.lastSeen
    this.lastSeen = now
    const frames = this.host.frames
    frames.length = 0
    const error = this.decoder.push(chunk, frames)
    if (options.maxMessagesPerSecond > 0 && frames.length > 0) {
      const rate = options.maxMessagesPerSecond
      this.tokens = Math.min(rate, this.tokens + (elapsed * rate) / 1000) - frames.length
      if (this.tokens < 0) {
        this.actor.send(RATE_EXCEEDED)
        return
      }
    }
    if (frames.length > 0) this.deliver(frames)
    if (error !== null && this.closeReason === null) {
      this.cause = error
      this.actor.send({ type: 'frame.invalid', reason: error.code })
    }
  }

  /** The game logic has room again. */
  gameRelieved(): void {
    this.resume(PAUSED_GAME)
  }

  onDrain(): void {
    this.resume(PAUSED_BACKPRESSURE)
  }

  onPeerClose(reason: TransportCloseReason): void {
    if (this.closeReason === null) this.actor.send({ type: 'socket.closed', reason })
  }

  sweep(now: number): void {
    if (this.closeReason !== null) return
    const { heartbeatInterval, heartbeatTimeout, handshakeTimeout } = this.host.options
    const wrote = this.lastWrite
    const snapshot = this.actor.getSnapshot()
    if (snapshot.hasTag('handshake')) {
      if (now - this.openedAt >= handshakeTimeout) return this.actor.send(HANDSHAKE_TIMEOUT)
    } else if (snapshot.hasTag('live')) {
      const silent = now - this.lastSeen
      // Held paused because the peer does not read, it cannot be heard either: its silence is
      // ours, and the peer is a slow consumer rather than a dead one.
      if (silent >= heartbeatTimeout) this.actor.send((this.paused & PAUSED_BACKPRESSURE) === 0 ? TIMEOUT : OVERFLOW)
      else if (silent >= heartbeatInterval && !snapshot.hasTag('awaitingFrame')) this.actor.send(MISSED)
    }
    // zero clients keep their read deadline alive on our heartbeats; a busy session needs none.
    // What this tick writes (a probe, or that heartbeat) is stamped with the tick's time, so the
    // next one is due exactly an interval of ticks later and a prompt answer is never "missed".
    if (this.lastWrite !== wrote) this.lastWrite = now
    else if (now - wrote >= heartbeatInterval && this.queue(HEARTBEAT_FRAME)) this.lastWrite = now
  }

  /** The `activate` action: the handshake is done, so frames held back during it go to the game. */
  activate(): void {
    this.resume(PAUSED_VERIFY)
    const held = this.held
    this.held = null
    if (held !== null) this.toGame(held)
  }

  /** The `probe` action: a silent peer gets a heartbeat. */
  probe(): void {
    this.queue(HEARTBEAT_FRAME)
  }

  /** The `release` action, or an actor error: runs once, whatever closed the session. */
  release(reason: CloseReason): void {
    if (this.closeReason !== null) return
    this.closeReason = reason
    this.closeError = this.cause?.code === reason ? this.cause : closedError(reason)
    this.held = null
    if (ABRUPT.has(reason)) {
      if (this.outbound.bytes > 0) this.outbound.take()
      this.pipe.destroy(reason)
    } else {
      this.flush()
      this.pipe.end(reason)
    }
    this.host.released(this)
  }

  toJSON(): { id: string; transport: TransportKind; remoteAddress: string; userId: UserId | undefined } {
    return { id: this.id, transport: this.transport, remoteAddress: this.remoteAddress, userId: this.userId }
  }

  private deliver(frames: Message[]): void {
    const snapshot = this.actor.getSnapshot()
    if (snapshot.hasTag('live')) {
      if (snapshot.hasTag('awaitingFrame')) this.actor.send({ type: 'frame.received', frame: frames[0]! })
      return this.toGame(frames)
    }
    if (!snapshot.hasTag('awaitingFrame')) {
      // verify is deciding: what follows the credential waits for its verdict.
      this.held?.push(...frames)
      return
    }
    // The first frame decides the handshake. With verify it is the credential and heartbeats do
    // not count; without, any valid frame activates and is delivered like the rest.
    const verify = snapshot.context.verify
    const first = verify ? frames.findIndex((frame) => frame.id !== HEARTBEAT_ID) : 0
    if (first < 0) return
    this.held = frames.slice(verify ? first + 1 : first)
    if (verify) this.pause(PAUSED_VERIFY)
    this.actor.send({ type: 'frame.received', frame: frames[first]! })
  }

  private toGame(frames: Message[]): void {
    const game = this.host.game
    for (let i = 0; i < frames.length && this.closeReason === null; i++) {
      const frame = frames[i]!
      if (frame.id !== HEARTBEAT_ID) game.message(this, frame)
    }
    // Input must not outrun the game: stop reading, and TCP pushes back on the sender.
    if (game.full && this.closeReason === null) {
      this.pause(PAUSED_GAME)
      this.host.waitForGame(this)
    }
  }

  private pause(reason: number): void {
    const before = this.paused
    this.paused |= reason
    // Waiting for verify alone, the peer may still be heard closing; any other reason stops reading.
    if (before === 0) this.pipe.pause(reason === PAUSED_VERIFY)
    else if (before === PAUSED_VERIFY && reason !== PAUSED_VERIFY) this.pipe.pause(false)
  }

  private resume(reason: number): void {
    if ((this.paused & reason) === 0) return
    this.paused &= ~reason
    if (this.paused === 0 && this.closeReason === null) this.pipe.resume()
  }
}
