import type { Actor } from 'xstate'
import type { ConnectionEvent, ConnectionMachine, ConnectionState, LossReason } from '../machines/connection.js'
import { type CloseReason, closedError, SessionClosedError } from './errors.js'
import type { GameLoop } from './gameLoop.js'
import type { Sweepable } from './heartbeatSweep.js'
import type { ResolvedOptions, VerifyRejection } from './options.js'
import { FrameDecoder } from './protocol/decoder.js'
import { OutboundQueue } from './outboundQueue.js'
import { encodeFrame, frameLength, HEARTBEAT_FRAME } from './protocol/encoder.js'
import { HEARTBEAT_ID, isMessage, type Message } from './protocol/message.js'
import { byteLength, ReplayLog } from './resume/replayLog.js'
import type { ResumeTokens } from './resume/resumeTokens.js'
import { goodbyeFrame, isResumeControlId, parseResume, RESUME_CONTROL_IDS, resumedFrame, tokenFrame } from './resume/resumeControl.js'
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
  /** With `resume`: a new session's first frame arrived, so the game may now hear of it. */
  announce(session: ServerSession): void
  /** With `resume`: the session's tokens (src/resume/resumeTokens.ts). */
  readonly tokens: ResumeTokens<ServerSession>
  /** With `resume`: `arrival`'s first frame was a RESUME carrying `token`; find its session and hand over. */
  resume(arrival: ServerSession, token: Uint8Array, received: number, rest: Message[]): void
  /** The session lost its peer and waits in `detached`, or carries on after a resume: tell the rooms. */
  detached(session: ServerSession): void
  reattached(session: ServerSession): void
  /** A connection handed its transport to the session it resumed: forget it without telling the game. */
  handedOver(session: ServerSession): void
  /** The session's user id was bound (or changed): a cluster's directory learns it. */
  userBound(session: ServerSession): void
}

const HANDSHAKE_TIMEOUT: ConnectionEvent = { type: 'handshake.timeout' }
const MISSED: ConnectionEvent = { type: 'heartbeat.missed' }
const TIMEOUT: ConnectionEvent = { type: 'heartbeat.timeout' }
const OVERFLOW: ConnectionEvent = { type: 'outbound.overflow' }
const KICK: ConnectionEvent = { type: 'session.kick' }
const RATE_EXCEEDED: ConnectionEvent = { type: 'rate.exceeded' }
const GOODBYE: ConnectionEvent = { type: 'peer.goodbye' }
const RESUMED: ConnectionEvent = { type: 'session.resumed' }
const EXPIRED: ConnectionEvent = { type: 'resume.expired' }
const REPLAY_UNAVAILABLE: ConnectionEvent = { type: 'replay.unavailable' }
const REFUSED: ConnectionEvent = { type: 'resume.refused' }
const HANDED_OVER: ConnectionEvent = { type: 'resume.handedOver' }
/** One event object per way of losing a peer, rather than one per session. */
const SOCKET_CLOSED: Readonly<Record<TransportCloseReason, ConnectionEvent>> = {
  'client-closed': { type: 'socket.closed', reason: 'client-closed' },
  reset: { type: 'socket.closed', reason: 'reset' },
  'text-message': { type: 'socket.closed', reason: 'text-message' },
  'message-too-large': { type: 'socket.closed', reason: 'message-too-large' },
  'websocket-error': { type: 'socket.closed', reason: 'websocket-error' },
}

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
  'replaced',
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
  /** Of the connection that carries the session now: a resume may change them. */
  remoteAddress: string
  transport: TransportKind
  request: UpgradeRequest | null
  readonly actor: Actor<ConnectionMachine>
  /** With `resume`, once active: the session's resume tokens (src/resume/resumeTokens.ts). */
  token: string | null = null
  spent: string | null = null
  /** False until the game may hear of the session: on accept, or with `resume` at its first frame. */
  announced: boolean
  private readonly host: SessionHost
  /** Null while `detached`, and once handed over to the session this connection resumed. */
  private pipe: Transport | null
  private decoder: FrameDecoder
  /** With `resume`: what was sent, to replay after a resume. */
  private readonly log: ReplayLog<Buffer> | null
  /** With `resume`: frames read from the client (heartbeats and resume frames aside). */
  private read = 0
  private detachedAt = 0
  /** Bytes sent while `detached`: all of them must stay in the log for the resume. */
  private detachedBytes = 0
  /** Unsent bytes past which the peer is a slow consumer: `maxBufferedBytes`, less the replay log's part. */
  private readonly outboundLimit: number
  private store: Map<string, unknown> | null = null
  /** With `resume`, until the first frame decides what the connection is: every chunk read, for a resume relayed to another node. */
  private opening: Buffer[] | null
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
    const { options } = host
    this.decoder = new FrameDecoder(options.maxPayload, Buffer.allocUnsafe)
    const pipe = createTransport(this)
    this.pipe = pipe
    this.remoteAddress = pipe.remoteAddress
    this.transport = pipe.kind
    this.request = pipe.request
    this.log = options.resume === null ? null : new ReplayLog<Buffer>(options.resume.replayBytes, byteLength)
    this.announced = options.resume === null
    this.opening = options.resume === null ? null : []
    this.outboundLimit = options.maxBufferedBytes - (options.resume?.replayBytes ?? 0)
    this.openedAt = this.lastSeen = this.lastWrite = options.clock.now()
    this.tokens = options.maxMessagesPerSecond
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
    this.host.userBound(this)
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
    if (!isMessage(message)) return false
    // With resume every frame is kept in a buffer of its own, for the replay log.
    if (this.log !== null) return this.queue(encodeFrame(message.id, message.data))
    if (!this.reserve(frameLength(message.data.length))) return false
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
    const log = this.log
    if (log !== null) {
      // Heartbeats are for a peer that is there, and are never replayed.
      if (frame === HEARTBEAT_FRAME) return this.pipe !== null && this.unlogged(frame)
      if (!this.reserve(frame.length)) return false
      log.push(frame)
      if (this.pipe !== null) this.outbound.append(frame)
      return true
    }
    return this.unlogged(frame)
  }

  /** Queues a frame the replay log does not keep: every frame without resume; heartbeats and resume control frames with it. */
  private unlogged(frame: Buffer): boolean {
    if (!this.reserve(frame.length)) return false
    this.outbound.append(frame)
    return true
  }

  /**
   * Makes room for `length` more bytes, or closes the session with `slow-consumer` when the peer
   * is so far behind that they would pass `maxBufferedBytes` (less the replay log's part).
   */
  private reserve(length: number): boolean {
    if (this.closeReason !== null) return false
    const pipe = this.pipe
    if (pipe === null) {
      // Detached: what is sent waits in the replay log, which must keep all of it for the resume.
      if (this.detachedBytes + length > this.log!.capacity) {
        this.actor.send(OVERFLOW)
        return false
      }
      this.detachedBytes += length
      return true
    }
    const queued = this.outbound.bytes
    if (pipe.writableLength + queued + length > this.outboundLimit) {
      this.actor.send(OVERFLOW)
      return false
    }
    this.scheduleWrite()
    return true
  }

  /** The first bytes of a tick schedule the flush that writes them all. */
  private scheduleWrite(): void {
    if (this.outbound.bytes !== 0) return
    this.lastWrite = this.host.options.clock.now()
    this.host.scheduleFlush(this)
  }

  /** Writes everything queued in one write: one syscall per session per tick, not per frame. */
  flush(): void {
    const pipe = this.pipe
    if (this.outbound.bytes === 0 || pipe === null) return
    // Stop reading only well past the socket's own 16 KiB mark: pausing at every full write
    // stalls a peer that pipelines large frames (bulk echo lost a quarter of its rate). 'drain'
    // follows, since a write that leaves this much queued has returned false.
    const ok = pipe.write(this.outbound.take())
    if (!ok && pipe.writableLength > this.host.options.maxBufferedBytes / 4) this.pause(PAUSED_BACKPRESSURE)
  }

  onData(chunk: Buffer): void {
    if (this.closeReason !== null) return
    this.opening?.push(chunk)
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
    if (frames.length > 0) {
      if (this.log !== null) this.read += countable(frames)
      this.deliver(frames)
    }
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
    if (this.closeReason === null) this.actor.send(SOCKET_CLOSED[reason])
  }

  sweep(now: number): void {
    if (this.closeReason !== null) return
    const { heartbeatInterval, heartbeatTimeout, handshakeTimeout } = this.host.options
    const wrote = this.lastWrite
    const snapshot = this.actor.getSnapshot()
    if (snapshot.hasTag('detached')) {
      if (now - this.detachedAt >= this.host.options.resume!.grace) this.actor.send(EXPIRED)
      return
    }
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
    if (this.log !== null) this.unlogged(encodeMessage(tokenFrame(this.host.tokens.issue(this))))
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
    this.host.tokens.revoke(this)
    const pipe = this.pipe
    // Detached, there is no one to tell.
    if (pipe !== null && ABRUPT.has(reason)) {
      if (this.outbound.bytes > 0) this.outbound.take()
      pipe.destroy(reason)
    } else if (pipe !== null) {
      // A resuming client is told the session is over, so that it does not try to resume it.
      if (this.log !== null) this.appendUnchecked(encodeMessage(goodbyeFrame(reason)))
      this.flush()
      pipe.end(reason)
    }
    this.pipe = null
    this.host.released(this)
  }

  /** The `detach` action: the peer is gone; what is sent from now on waits in the replay log. */
  detach(loss: LossReason): void {
    const pipe = this.pipe
    this.pipe = null
    // What was queued is in the log too, and the client's count will say whether it arrived.
    if (this.outbound.bytes > 0) this.outbound.take()
    pipe?.destroy(loss)
    this.host.tokens.lost(this)
    this.detachedAt = this.host.options.clock.now()
    this.detachedBytes = 0
    this.host.detached(this)
  }

  /** The `reattach` action: back from `detached`. */
  reattach(): void {
    this.host.reattached(this)
  }

  /** The `handOver` action. */
  handOver(): void {
    this.host.handedOver(this)
  }

  /**
   * A new connection (`arrival`) presented this session's token, after `received` frames: the
   * session carries on over its transport. The client gets how many of its frames were read, a new
   * token, and every frame it missed, in order; the connection it had, if it still looked alive,
   * closes with \`replaced\`. A client that missed more than the log holds ends the session with
   * \`replay-unavailable\`.
   */
  resumeOver(arrival: ServerSession, received: number, rest: Message[]): void {
    const missed = this.log!.since(received)
    const pipe = arrival.giveUp(this)
    const old = this.pipe
    this.pipe = pipe
    this.decoder = arrival.decoder
    this.remoteAddress = pipe.remoteAddress
    this.transport = pipe.kind
    this.request = pipe.request
    this.lastSeen = this.lastWrite = this.host.options.clock.now()
    this.tokens = this.host.options.maxMessagesPerSecond
    if (this.outbound.bytes > 0) this.outbound.take()
    // Reading went on the old connection's way; the new one starts flowing, unless the game is full.
    const waitingForGame = (this.paused & PAUSED_GAME) !== 0
    this.paused = 0
    if (waitingForGame) this.pause(PAUSED_GAME)
    old?.destroy('replaced')
    if (missed === null) return this.actor.send(REPLAY_UNAVAILABLE)
    this.appendUnchecked(encodeMessage(resumedFrame(this.read)))
    this.appendUnchecked(encodeMessage(tokenFrame(this.host.tokens.issue(this))))
    // The replay fits: the log is the part of maxBufferedBytes the outbound limit leaves free.
    for (const frame of missed) this.appendUnchecked(frame)
    this.actor.send(RESUMED)
    if (rest.length > 0 && this.closeReason === null) {
      this.read += countable(rest)
      this.deliver(rest)
    }
  }

  /** This connection presented a resume token that opens no session. */
  refuse(): void {
    this.actor.send(REFUSED)
  }

  /** Hands this connection's transport to `sink` (the session it resumed, or a relay to another node's); this connection ends here. */
  private giveUp(sink: TransportSink): Transport {
    const pipe = this.pipe!
    this.pipe = null
    this.opening = null
    pipe.rebind(sink)
    this.actor.send(HANDED_OVER)
    return pipe
  }

  /** The session this connection resumes is another node's: its transport goes to `sink`, with every byte read so far. */
  handOff(sink: TransportSink): { pipe: Transport; read: Buffer[] } {
    const read = this.opening ?? []
    return { pipe: this.giveUp(sink), read }
  }

  private appendUnchecked(frame: Buffer): void {
    this.scheduleWrite()
    this.outbound.append(frame)
  }

  toJSON(): { id: string; transport: TransportKind; remoteAddress: string; userId: UserId | undefined } {
    return { id: this.id, transport: this.transport, remoteAddress: this.remoteAddress, userId: this.userId }
  }

  private deliver(frames: Message[]): void {
    const snapshot = this.actor.getSnapshot()
    if (!this.announced) {
      // With resume, the first frame decides: a RESUME carries another session, anything else
      // (a heartbeat too, as without resume) makes this one a new session.
      const first = frames[0]!
      if (first.id === RESUME_CONTROL_IDS.RESUME) {
        const resume = parseResume(first.data)
        if (resume === null) return this.refuse()
        return this.host.resume(this, resume.token, resume.received, frames.slice(1))
      }
      this.opening = null
      this.announced = true
      this.host.announce(this)
    }
    if (snapshot.hasTag('live')) {
      // A GOODBYE first says only that the peer is leaving, not that it is still there.
      const leaving = this.log !== null && frames[0]!.id === RESUME_CONTROL_IDS.GOODBYE
      if (snapshot.hasTag('awaitingFrame') && !leaving) this.actor.send({ type: 'frame.received', frame: frames[0]! })
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
    const resume = this.log !== null
    for (let i = 0; i < frames.length && this.closeReason === null; i++) {
      const frame = frames[i]!
      if (frame.id === HEARTBEAT_ID) continue
      if (resume && isResumeControlId(frame.id)) {
        if (frame.id === RESUME_CONTROL_IDS.GOODBYE) this.actor.send(GOODBYE)
        else if (frame.id === RESUME_CONTROL_IDS.RESUMED) this.host.tokens.confirm(this)
        continue
      }
      game.message(this, frame)
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
    if (before === 0) this.pipe?.pause(reason === PAUSED_VERIFY)
    else if (before === PAUSED_VERIFY && reason !== PAUSED_VERIFY) this.pipe?.pause(false)
  }

  private resume(reason: number): void {
    if ((this.paused & reason) === 0) return
    this.paused &= ~reason
    if (this.paused === 0 && this.closeReason === null) this.pipe?.resume()
  }
}

/** Frames that count toward what the client sent: all but heartbeats and resume control frames. */
function countable(frames: readonly Message[]): number {
  let n = 0
  for (const frame of frames) if (frame.id !== HEARTBEAT_ID && !isResumeControlId(frame.id)) n++
  return n
}

function encodeMessage(message: Message): Buffer {
  return encodeFrame(message.id, message.data)
}
