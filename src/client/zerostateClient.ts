import type { CloseReason } from '../../machines/closeReason.js'
import type { Message } from '../protocol/message.js'

/**
 * Why a client connection ended, as the client saw it: `client-closed` (close() was called),
 * `server-closed` (the server ended it without saying why), `reset` (the connection broke), a
 * protocol error code (the server sent a bad frame), or, over a WebSocket, the close reason the
 * server put in its close frame (`handshake-rejected`, `server-stopping`, ...).
 */
export type ClientCloseReason = 'server-closed' | CloseReason

/** `open`; with `resume`, `dropped` from a lost connection until the session is resumed (`open` again) or given up; `closed` at the end. */
export type ClientStatus = 'open' | 'dropped' | 'closed'

/**
 * The client end of a zerostate (or zero) connection, whatever carries the frames: what the TCP
 * client (`connect`, whose {@link Client} adds `reset` and `localPort`) and the WebSocket client
 * (`connectWebSocket`, in Node and in browsers) have in common.
 */
export interface ZerostateClient {
  /**
   * Queues a frame; frames sent in one tick go out in one write (one WebSocket message). False once
   * closed, or for a message that is not a frame. With `resume`, frames sent while dropped are kept
   * and delivered once the session is resumed (false when `resume.maxQueued` are waiting already).
   */
  send(message: Message): boolean
  /**
   * Adds a handler that receives every message but heartbeats (several run in the order they were
   * added); returns the function that removes it. With no handler, messages wait for
   * {@link ZerostateClient.receive}.
   */
  onMessage(handler: (message: Message) => void): () => void
  /** The next message not taken by an `onMessage` handler; rejects if the connection ends first (a resumed drop is not an end). */
  receive(): Promise<Message>
  /** Closes after writing what is queued; resolves when the connection is closed. */
  close(): Promise<void>
  readonly closeReason: ClientCloseReason | null
  /** Resolves with the reason once the connection is closed. */
  readonly closed: Promise<ClientCloseReason>
  /** Heartbeats received from the server. */
  readonly heartbeats: number
  readonly status: ClientStatus
  /** Hears every change of `status`; returns the function that stops it. */
  onStatus(handler: (status: ClientStatus) => void): () => void
}
