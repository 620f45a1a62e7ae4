/**
 * The byte pipe under a session. TCP is the only one today; the interface is this small so that a
 * WebSocket transport can carry the same frames later.
 */
export interface Transport {
  readonly remoteAddress: string
  /** Bytes accepted by `write` and not yet handed to the kernel. */
  readonly writableLength: number
  /** Writes one buffer, or several in one vectored write. False: wait for `onDrain` before writing more. */
  write(data: Buffer | Buffer[]): boolean
  pause(): void
  resume(): void
  /** Sends what is queued, then closes; a peer that never finishes the close is cut off. */
  end(): void
  /** Closes now, discarding what is queued. */
  destroy(): void
}

export type PeerCloseReason = 'client-closed' | 'reset'

/** What a transport reports to its session. */
export interface TransportSink {
  onData(chunk: Buffer): void
  onDrain(): void
  /** The peer closed or the connection failed; called once at most. */
  onPeerClose(reason: PeerCloseReason): void
}
