import type { ClientCloseReason } from './zerostateClient.js'

/**
 * One connection under a client: a TCP socket or a WebSocket. A client with `resume` dials a new
 * one when the connection is lost, so the bytes and the client's state are kept apart.
 */
export interface ClientPipe {
  /** Writes one tick's frames (`byteLength` bytes in all) as one write, or one WebSocket message. */
  write(frames: readonly Uint8Array[], byteLength: number): void
  /** Closes cleanly after what was written. */
  end(): void
  /** Drops the connection: the server sent bytes that are not a frame (or not the transport's kind). */
  abort(reason: ClientCloseReason): void
  /** Resolves once the connection is closed. */
  readonly closed: Promise<void>
}

/** What a pipe reports to its client. */
export interface PipeEvents {
  data(chunk: Uint8Array): void
  /** The server broke the transport's protocol (over WebSocket, a text message). */
  invalid(reason: ClientCloseReason): void
  /** The connection ended, as the transport saw it; called once. */
  ended(reason: ClientCloseReason): void
}

/** Opens a connection that reports to `events`; rejects if it cannot be opened. */
export type Dial<TPipe extends ClientPipe = ClientPipe> = (events: PipeEvents) => Promise<TPipe>
