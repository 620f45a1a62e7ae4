import type { CloseReason, TransportCloseReason } from '../../machines/closeReason.js'

/** Which way a session came in. */
export type TransportKind = 'tcp' | 'websocket'

/**
 * The HTTP upgrade request a WebSocket session came with, for `verify` to read (a token in the
 * URL, a cookie, the origin).
 */
export interface UpgradeRequest {
  /** The request target: path and query, e.g. `/play?token=abc`. */
  readonly url: string
  /** The `Origin` header, or undefined when the client sent none (non-browser clients). */
  readonly origin: string | undefined
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly remoteAddress: string
}

/**
 * The byte pipe under a session: TCP or a WebSocket carry the same frames, and everything above
 * this interface (decoder, limits, the connection machine, heartbeats) is shared.
 */
export interface Transport {
  readonly kind: TransportKind
  readonly remoteAddress: string
  /** The upgrade request of a WebSocket session; null over TCP. */
  readonly request: UpgradeRequest | null
  /** Bytes accepted by `write` and not yet handed to the kernel. */
  readonly writableLength: number
  /** Writes one buffer, or several as one write (one WebSocket message). False: wait for `onDrain` before writing more. */
  write(data: Buffer | Buffer[]): boolean
  /**
   * Stops delivering data. `listening`: the peer's close must still be heard (while `verify`
   * decides), so the transport may go on reading and hold what arrives, within a bound.
   */
  pause(listening?: boolean): void
  resume(): void
  /** Sends what is queued, then closes, telling the peer `reason` where the transport can; a peer that never finishes the close is cut off. */
  end(reason: CloseReason): void
  /** Closes now, discarding what is queued; tells the peer `reason` where the transport still can. */
  destroy(reason: CloseReason): void
  /** From now on reports to `sink`: a resumed session takes over the connection that presented its token. */
  rebind(sink: TransportSink): void
}

export type { TransportCloseReason } from '../../machines/closeReason.js'

/** What a transport reports to its session. */
export interface TransportSink {
  onData(chunk: Buffer): void
  onDrain(): void
  /** The peer closed, the connection failed, or the peer broke the transport's protocol; called once at most. */
  onPeerClose(reason: TransportCloseReason): void
}
