import type { ConnectionState } from '../machines/connection.js'
import type { CloseReason } from './errors.js'
import type { Message } from './protocol/message.js'
import type { TransportKind, UpgradeRequest } from './transport/transport.js'

export type UserId = string | number

/** One connection as game code sees it: zero's session, plus its live statechart state. */
export interface Session {
  /** A random UUID, unique for the server's life. */
  readonly id: string
  /** Set by {@link Session.bindUser}; undefined until then. */
  readonly userId: UserId | undefined
  /** `host:port` of the peer, as seen on accept. */
  readonly remoteAddress: string
  /** Which way the session came in. */
  readonly transport: TransportKind
  /**
   * The HTTP upgrade request of a WebSocket session (URL, origin, headers), for `verify` to read
   * a token from; null over TCP.
   */
  readonly request: UpgradeRequest | null
  /** The connection machine's state right now (`handshake.verifying` reads as `handshake`). */
  readonly state: ConnectionState
  /** Why the session ended, once it has. */
  readonly closeReason: CloseReason | null
  bindUser(userId: UserId): void
  get<T = unknown>(key: string): T | undefined
  set(key: string, value: unknown): void
  delete(key: string): boolean
  /**
   * Queues a frame; frames queued in one tick go out in one write. Returns false, and drops the
   * message, once the session is closed or when `message` is not a frame (an int32 id and a
   * `Uint8Array`). Never throws.
   */
  send(message: Message): boolean
  /** Closes the session with `kicked` after writing what is already queued; `detail` joins the error message. */
  close(detail?: string): void
}
