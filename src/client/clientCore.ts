import type { Clock } from '../options.js'
import { FrameDecoder } from '../protocol/decoder.js'
import { frameBytes, HEARTBEAT_BYTES } from '../protocol/frameWriter.js'
import { HEARTBEAT_ID, isMessage, type Message } from '../protocol/message.js'
import type { ClientCloseReason, ZerostateClient } from './zerostateClient.js'
import type { ClientSettings } from './clientSettings.js'

/**
 * Everything a client does but move bytes: decoding, heartbeats (answering the server's, sending
 * its own when it sent nothing for `heartbeatInterval`), the inbox and `receive()` waiters,
 * coalescing one tick's sends into one write, and the close reason. A subclass is the byte pipe:
 * TCP (src/client.ts) or a WebSocket (src/webSocketClient.ts). It feeds received bytes to
 * {@link ClientCore.deliver} and the end of the connection to {@link ClientCore.finish}.
 *
 * Nothing here is Node-only, so the same core runs in a browser.
 */
export abstract class ClientCore implements ZerostateClient {
  closeReason: ClientCloseReason | null = null
  heartbeats = 0
  readonly closed: Promise<ClientCloseReason>
  private readonly decoder: FrameDecoder
  private readonly clock: Clock
  private readonly heartbeatInterval: number
  /** Scratch for one chunk's frames. */
  private readonly frames: Message[] = []
  private handler: ((message: Message) => void) | null = null
  private readonly inbox: Message[] = []
  private readonly waiting: { resolve: (message: Message) => void; reject: (error: Error) => void }[] = []
  private resolveClosed!: (reason: ClientCloseReason) => void
  /** Frames sent in this tick, written together when it ends. */
  private outbox: Uint8Array[] = []
  private outboxBytes = 0
  private lastSent: number
  private timer: unknown = null

  constructor(settings: ClientSettings) {
    this.decoder = new FrameDecoder(settings.maxPayload)
    this.clock = settings.clock
    this.heartbeatInterval = settings.heartbeatInterval
    this.lastSent = settings.clock.now()
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))
    if (this.heartbeatInterval > 0) this.schedule()
  }

  /** Writes one tick's frames (`byteLength` bytes in all) as one write, or one WebSocket message. */
  protected abstract writeFrames(frames: readonly Uint8Array[], byteLength: number): void
  /** Closes the pipe cleanly after what was written. */
  protected abstract endPipe(): void
  /** Drops the pipe: the server sent bytes that are not a frame (or not the transport's kind). */
  protected abstract abortPipe(reason: ClientCloseReason): void
  /** Resolves once the pipe is closed. */
  protected abstract pipeClosed(): Promise<void>

  send(message: Message): boolean {
    return isMessage(message) && this.queue(frameBytes(message.id, message.data))
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
      this.flush()
      this.finish('client-closed')
      this.endPipe()
    }
    return this.pipeClosed()
  }

  /** Decodes bytes from the server; a bad frame ends the connection with its protocol error code. */
  protected deliver(chunk: Uint8Array): void {
    if (this.closeReason !== null) return
    const frames = this.frames
    frames.length = 0
    const error = this.decoder.push(chunk, frames)
    for (const frame of frames) {
      if (frame.id === HEARTBEAT_ID) {
        this.heartbeats++
        this.queue(HEARTBEAT_BYTES)
      } else if (this.handler !== null) {
        this.handler(frame)
      } else {
        const waiter = this.waiting.shift()
        if (waiter !== undefined) waiter.resolve(frame)
        else this.inbox.push(frame)
      }
    }
    frames.length = 0
    if (error !== null) this.fail(error.code)
  }

  /** Ends the connection because the server broke the protocol (a bad frame, a text message): `reason` says how. */
  protected fail(reason: ClientCloseReason): void {
    if (this.closeReason !== null) return
    this.finish(reason)
    this.abortPipe(reason)
  }

  /** Records why the connection ended (the first reason wins), stops the heartbeat and fails the waiters. */
  protected finish(reason: ClientCloseReason): void {
    if (this.closeReason !== null) return
    this.closeReason = reason
    this.outbox = []
    this.outboxBytes = 0
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    const error = new Error(`connection closed: ${reason}`)
    for (const waiter of this.waiting.splice(0)) waiter.reject(error)
    this.resolveClosed(reason)
  }

  private queue(frame: Uint8Array): boolean {
    if (this.closeReason !== null) return false
    this.lastSent = this.clock.now()
    // The first frame of a tick schedules the write, so a burst of sends becomes one write.
    if (this.outbox.length === 0) queueMicrotask(this.flush)
    this.outbox.push(frame)
    this.outboxBytes += frame.length
    return true
  }

  private readonly flush = (): void => {
    if (this.outbox.length === 0 || this.closeReason !== null) return
    const frames = this.outbox
    const byteLength = this.outboxBytes
    this.outbox = []
    this.outboxBytes = 0
    this.writeFrames(frames, byteLength)
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(this.tick, Math.max(1, Math.floor(this.heartbeatInterval / 2)))
  }

  private readonly tick = (): void => {
    if (this.closeReason !== null) return
    if (this.clock.now() - this.lastSent >= this.heartbeatInterval) this.queue(HEARTBEAT_BYTES)
    this.schedule()
  }
}
