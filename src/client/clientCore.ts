import type { Clock } from '../options.js'
import { FrameDecoder } from '../protocol/decoder.js'
import { frameBytes, HEARTBEAT_BYTES } from '../protocol/frameWriter.js'
import { HEARTBEAT_ID, isMessage, type Message } from '../protocol/message.js'
import { goodbyeFrame, goodbyeReason, isResumeControlId, parseResumed, RESUME_CONTROL_IDS, resumeFrame, TOKEN_RECEIVED } from '../resume/resumeControl.js'
import { oneFrame, ReplayLog } from '../resume/replayLog.js'
import { closeReasonOf } from '../transport/closeCodes.js'
import type { ClientPipe, Dial, PipeEvents } from './clientPipe.js'
import type { ClientResumeOptions, ClientSettings } from './clientSettings.js'
import type { ClientCloseReason, ClientStatus, ZerostateClient } from './zerostateClient.js'

/** Losses a session with resume survives: the server kept it detached, and a resume may find it. */
const LOSSES: ReadonlySet<ClientCloseReason> = new Set(['reset', 'server-closed', 'heartbeat-timeout'])

/**
 * Everything a client does but move bytes: decoding, heartbeats (answering the server's, sending
 * its own when it sent nothing for `heartbeatInterval`), the inbox and `receive()` waiters,
 * coalescing one tick's sends into one write, the close reason and, with `resume`, reconnecting:
 * it counts the frames each way, keeps what it sent for resending, and dials a new pipe when the
 * one it has is lost. The pipe is TCP (src/client.ts) or a WebSocket (src/webSocketClient.ts).
 *
 * Nothing here is Node-only, so the same core runs in a browser.
 */
export class ClientCore<TPipe extends ClientPipe = ClientPipe> implements ZerostateClient {
  closeReason: ClientCloseReason | null = null
  heartbeats = 0
  status: ClientStatus = 'open'
  readonly closed: Promise<ClientCloseReason>
  /** The connection now; null while dropped. */
  protected pipe: TPipe | null
  private decoder: FrameDecoder
  private readonly settings: ClientSettings
  private readonly clock: Clock
  /** Scratch for one chunk's frames. */
  private readonly frames: Message[] = []
  private readonly handlers = new Set<(message: Message) => void>()
  private readonly statusHandlers = new Set<(status: ClientStatus) => void>()
  private readonly inbox: Message[] = []
  private readonly waiting: { resolve: (message: Message) => void; reject: (error: Error) => void }[] = []
  private resolveClosed!: (reason: ClientCloseReason) => void
  /** Frames sent in this tick, written together when it ends. */
  private outbox: Uint8Array[] = []
  private outboxBytes = 0
  private lastSent: number
  /** When the server was last heard (any frame, heartbeats included). */
  private lastHeard: number
  /** How often the timer runs: for our heartbeats, and with resume to notice a silent server; 0: no timer. */
  private readonly period: number
  private timer: unknown = null
  private readonly resume: Resume | null

  constructor(
    settings: ClientSettings,
    pipe: (events: PipeEvents) => TPipe,
    private readonly dial: Dial<TPipe>,
  ) {
    this.settings = settings
    this.decoder = new FrameDecoder(settings.maxPayload)
    this.clock = settings.clock
    this.lastSent = this.lastHeard = settings.clock.now()
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))
    const periods = [settings.heartbeatInterval / 2, (settings.resume?.silence ?? 0) / 4].filter((period) => period > 0)
    this.period = periods.length === 0 ? 0 : Math.max(1, Math.floor(Math.min(...periods)))
    this.resume = settings.resume === null ? null : new Resume(settings.resume)
    const events = this.eventsFor()
    this.pipe = events.pipe = pipe(events)
    if (this.period > 0) this.schedule()
  }

  send(message: Message): boolean {
    if (!isMessage(message) || this.closeReason !== null) return false
    const frame = frameBytes(message.id, message.data)
    const resume = this.resume
    if (resume !== null && !resume.sent(frame, this.status === 'open')) return false
    return this.status === 'open' ? this.queue(frame) : true
  }

  onMessage(handler: (message: Message) => void): () => void {
    this.handlers.add(handler)
    return () => void this.handlers.delete(handler)
  }

  onStatus(handler: (status: ClientStatus) => void): () => void {
    this.statusHandlers.add(handler)
    return () => void this.statusHandlers.delete(handler)
  }

  receive(): Promise<Message> {
    const next = this.inbox.shift()
    if (next !== undefined) return Promise.resolve(next)
    if (this.closeReason !== null) return Promise.reject(new Error(`connection closed: ${this.closeReason}`))
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  close(): Promise<void> {
    const pipe = this.pipe
    if (this.closeReason === null) {
      // A GOODBYE tells a server with resume not to keep the session waiting for us.
      if (this.resume !== null && this.resume.token !== null && this.status === 'open') this.queue(encode(goodbyeFrame()))
      this.flush()
      this.finish('client-closed')
      pipe?.end()
    }
    return pipe?.closed ?? Promise.resolve()
  }

  /** Ends the connection as a crashing client would, telling the server nothing; returns the pipe to cut. */
  protected abandon(): TPipe | null {
    const pipe = this.pipe
    this.finish('client-closed')
    return pipe
  }

  /** The events of one pipe (set `pipe` once it exists): a pipe that is no longer the client's is not heard. */
  private eventsFor(): PipeEvents & { pipe: TPipe | null } {
    const mine = () => events.pipe !== null && events.pipe === this.pipe
    const events = {
      pipe: null as TPipe | null,
      data: (chunk: Uint8Array) => {
        if (mine()) this.deliver(chunk)
      },
      invalid: (reason: ClientCloseReason) => {
        if (mine()) this.fail(reason)
      },
      ended: (reason: ClientCloseReason) => {
        if (mine()) this.lost(reason)
      },
    }
    return events
  }

  /** Decodes bytes from the server; a bad frame ends the connection with its protocol error code. */
  private deliver(chunk: Uint8Array): void {
    if (this.closeReason !== null) return
    this.lastHeard = this.clock.now()
    const frames = this.frames
    frames.length = 0
    const error = this.decoder.push(chunk, frames)
    const resume = this.resume
    for (const frame of frames) {
      if (frame.id === HEARTBEAT_ID) {
        this.heartbeats++
        this.queue(HEARTBEAT_BYTES)
        continue
      }
      if (resume !== null && isResumeControlId(frame.id)) {
        this.control(resume, frame)
        if (this.closeReason !== null) break
        continue
      }
      if (resume !== null) resume.received++
      if (this.handlers.size > 0) {
        for (const handler of this.handlers) handler(frame)
      } else {
        const waiter = this.waiting.shift()
        if (waiter !== undefined) waiter.resolve(frame)
        else this.inbox.push(frame)
      }
    }
    frames.length = 0
    if (error !== null) this.fail(error.code)
  }

  private control(resume: Resume, frame: Message): void {
    if (frame.id === RESUME_CONTROL_IDS.TOKEN) {
      resume.token = Uint8Array.from(frame.data)
      // Until the server hears we have it, the token we presented stays good for another try.
      this.queue(encode(TOKEN_RECEIVED))
    }
    else if (frame.id === RESUME_CONTROL_IDS.GOODBYE) resume.goodbye = closeReasonOf(goodbyeReason(frame.data)) ?? 'server-closed'
    else if (frame.id === RESUME_CONTROL_IDS.RESUMED) this.resumed(resume, parseResumed(frame.data))
  }

  /** The server took us back, having read `read` of our frames: resend the rest, and carry on. */
  private resumed(resume: Resume, read: number | null): void {
    const missed = read === null ? null : resume.since(read)
    if (missed === null) {
      // The server wants frames we no longer hold: going on would lose them.
      this.queue(encode(goodbyeFrame()))
      this.flush()
      this.finish('replay-unavailable')
      this.pipe?.end()
      return
    }
    resume.attempts = 0
    for (const frame of missed) this.queue(frame)
    this.setStatus('open')
  }

  /** Ends the connection because the server broke the protocol (a bad frame, a text message): `reason` says how. */
  private fail(reason: ClientCloseReason): void {
    if (this.closeReason !== null) return
    this.finish(reason)
    this.pipe?.abort(reason)
  }

  /** The pipe ended. With resume, a loss the server survives starts a reconnection instead of the end. */
  private lost(reason: ClientCloseReason): void {
    this.pipe = null
    this.outbox = []
    this.outboxBytes = 0
    if (this.closeReason !== null) return
    const resume = this.resume
    if (resume === null || resume.goodbye !== null || resume.token === null || !LOSSES.has(reason)) {
      this.finish(resume?.goodbye ?? reason)
      return
    }
    if (this.status === 'open') {
      resume.lostAt = this.clock.now()
      resume.loss = reason
      this.setStatus('dropped')
    }
    this.reconnectLater(resume)
  }

  private reconnectLater(resume: Resume): void {
    const delay = resume.nextDelay()
    if (this.clock.now() + delay - resume.lostAt > resume.options.giveUpAfter) {
      this.finish(resume.loss)
      return
    }
    this.timer = this.clock.setTimeout(() => void this.reconnect(resume), delay)
  }

  private async reconnect(resume: Resume): Promise<void> {
    this.timer = null
    if (this.closeReason !== null) return
    const events = this.eventsFor()
    let pipe: TPipe
    try {
      pipe = await this.dial(events)
    } catch {
      if (this.closeReason === null) this.reconnectLater(resume)
      return
    }
    if (this.closeReason !== null) {
      pipe.end()
      return
    }
    this.pipe = events.pipe = pipe
    this.decoder = new FrameDecoder(this.settings.maxPayload)
    // The RESUME goes out first and alone; what we send waits for RESUMED to say what the server has.
    const frame = encode(resumeFrame(resume.token!, resume.received))
    pipe.write([frame], frame.length)
    this.lastSent = this.lastHeard = this.clock.now()
    if (this.period > 0 && this.timer === null) this.schedule()
  }

  /** Records why the connection ended (the first reason wins), stops the timers and fails the waiters. */
  private finish(reason: ClientCloseReason): void {
    if (this.closeReason !== null) return
    this.closeReason = reason
    this.outbox = []
    this.outboxBytes = 0
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
    const error = new Error(`connection closed: ${reason}`)
    for (const waiter of this.waiting.splice(0)) waiter.reject(error)
    this.setStatus('closed')
    this.resolveClosed(reason)
  }

  private setStatus(status: ClientStatus): void {
    if (this.status === status) return
    this.status = status
    for (const handler of this.statusHandlers) handler(status)
  }

  private queue(frame: Uint8Array): boolean {
    if (this.closeReason !== null || this.pipe === null) return false
    this.lastSent = this.clock.now()
    // The first frame of a tick schedules the write, so a burst of sends becomes one write.
    if (this.outbox.length === 0) queueMicrotask(this.flush)
    this.outbox.push(frame)
    this.outboxBytes += frame.length
    return true
  }

  private readonly flush = (): void => {
    if (this.outbox.length === 0 || this.closeReason !== null || this.pipe === null) return
    const frames = this.outbox
    const byteLength = this.outboxBytes
    this.outbox = []
    this.outboxBytes = 0
    this.pipe.write(frames, byteLength)
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(this.tick, this.period)
  }

  private readonly tick = (): void => {
    this.timer = null
    if (this.closeReason !== null) return
    // While dropped the reconnection owns the timer; the heartbeat starts again with the new pipe.
    const pipe = this.pipe
    if (pipe === null) return
    const now = this.clock.now()
    const silence = this.resume?.options.silence ?? 0
    if (silence > 0 && now - this.lastHeard >= silence) {
      // A server with resume writes to an idle session every heartbeat interval: this one is gone,
      // though the connection has not said so (a network that changed, a NAT that forgot it).
      pipe.abort('heartbeat-timeout')
      this.lost('heartbeat-timeout')
      return
    }
    if (this.settings.heartbeatInterval > 0 && now - this.lastSent >= this.settings.heartbeatInterval) this.queue(HEARTBEAT_BYTES)
    this.schedule()
  }
}

/**
 * A resuming client's bookkeeping: the token, how many frames came in, and the frames it sent
 * (the last `maxQueued` of them), numbered as the server counts them.
 */
class Resume {
  token: Uint8Array | null = null
  /** Frames received, heartbeats and resume frames aside. */
  received = 0
  /** The server said the session is over: no resuming it. */
  goodbye: ClientCloseReason | null = null
  /** When the connection was lost, and how. */
  lostAt = 0
  loss: ClientCloseReason = 'reset'
  /** Failed reconnections since the connection was lost. */
  attempts = 0
  /** The last `maxQueued` frames sent, numbered as the server counts them. */
  private readonly log: ReplayLog<Uint8Array>

  constructor(readonly options: Required<ClientResumeOptions>) {
    this.log = new ReplayLog(options.maxQueued, oneFrame)
  }

  /** Keeps a sent frame for resending; false when dropped with the log full (it would push out an unsent frame). */
  sent(frame: Uint8Array, open: boolean): boolean {
    if (!open && this.log.length >= this.options.maxQueued) return false
    this.log.push(frame)
    return true
  }

  /** The frames after the first `read` (modulo 2^32), or null if some are no longer kept. */
  since(read: number): Uint8Array[] | null {
    return this.log.since(read)
  }

  /** The next reconnection's delay: exponential from `minDelay` up to `maxDelay`, jittered to half or more. */
  nextDelay(): number {
    const { minDelay, maxDelay, random } = this.options
    const ceiling = Math.min(maxDelay, minDelay * 2 ** Math.min(this.attempts++, 30))
    return Math.round(ceiling * (0.5 + random() / 2))
  }
}

function encode(message: Message): Uint8Array {
  return frameBytes(message.id, message.data)
}
