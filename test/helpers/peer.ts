/**
 * A raw peer of either transport, as the transport-parametrized tests see it: it writes exactly the
 * bytes it is told to (over WebSocket, as binary messages), answers nothing, records the frames it
 * receives and how the connection ended. RawPeer (TCP) and RawWebSocketPeer implement it.
 */
import type { Message } from '../../src/protocol/message.js'
import type { ReceivedFrame } from './receivedFrames.js'

/** The ways into a server the tests run over. */
export type TransportKind = 'tcp' | 'websocket'

/** For `describe.each(TRANSPORTS)`. */
export const TRANSPORTS: readonly TransportKind[] = ['tcp', 'websocket']

export interface Peer {
  readonly transport: TransportKind
  /** The peer's port on 127.0.0.1, which the server's session shows in its remoteAddress. */
  readonly localPort: number
  readonly received: Buffer
  readonly frames: readonly ReceivedFrame[]
  readonly messages: Message[]
  readonly heartbeats: number
  /** Everything received was well-formed frames with right checksums. */
  readonly wellFormed: boolean
  /** The connection is fully closed. */
  readonly closed: boolean
  /**
   * The server ended the connection in order: a FIN over TCP; over WebSocket a close frame, whose
   * code and text are in `closeFrame`.
   */
  readonly serverClosed: boolean
  /** Over WebSocket, the close frame the server sent; null over TCP or before one came. */
  readonly closeFrame: { code: number; reason: string } | null
  /** Resolves once the bytes were handed to the kernel (over WebSocket: sent as one binary message). */
  write(bytes: Uint8Array): Promise<void>
  /** One byte per write (per message), with an I/O turn between them. */
  writeBytewise(bytes: Uint8Array): Promise<void>
  /** A clean close: a FIN over TCP, a close frame (1000) over WebSocket. */
  end(): void
  /** An abrupt close: an RST, with no close frame. */
  reset(): void
  destroy(): void
  /** Stops reading: the kernel's buffers fill and the server's writes back up. */
  pauseReading(): void
  resumeReading(): void
  waitClosed(timeout?: number): Promise<void>
}
