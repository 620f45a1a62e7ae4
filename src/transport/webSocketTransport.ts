import type { Socket } from 'node:net'
import { type RawData, WebSocket } from 'ws'
import type { CloseReason, TransportCloseReason } from '../../machines/closeReason.js'
import { WEBSOCKET_CLOSE_CODES } from './closeCodes.js'
import type { Transport, TransportSink, UpgradeRequest } from './transport.js'

const kOwner = Symbol('zerostate.transport')

interface Owned {
  [kOwner]: WebSocketTransport | null
}

const FINAL = { binary: true, fin: true } as const
const FRAGMENT = { binary: true, fin: false } as const

/** Bytes of messages a listening pause holds before it stops reading the socket after all. */
const HOLD_LIMIT = 64 * 1024

/** Listeners are module-level functions that find their transport through a symbol, as over TCP. */
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  // With ws's default binaryType ('nodebuffer') a binary message is one Buffer, fragments joined.
  const owner = (this as WebSocket & Owned)[kOwner]
  if (owner === null || owner === undefined) return
  if (isBinary) owner.received(data as Buffer)
  else owner.peerClosed('text-message')
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  // ws names the peer's protocol violations WS_ERR_*, and closes with their status code itself.
  const code = error.code
  const reason = code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'message-too-large' : code?.startsWith('WS_ERR_') ? 'websocket-error' : 'reset'
  ;(this as WebSocket & Owned)[kOwner]?.peerClosed(reason)
}

function onClose(this: WebSocket, code: number): void {
  ;(this as WebSocket & Owned)[kOwner]?.peerClosed(code === 1006 ? 'reset' : 'client-closed')
}

function onDrain(this: Socket): void {
  ;(this as Socket & Owned)[kOwner]?.drained()
}

/**
 * The WebSocket class the listener has `ws` make its connections of. ws closes a connection whose
 * peer broke the protocol by itself, with the status code and no text; this gives such a close the
 * reason's name as its text, as every close of ours has. A subclass rather than a property set on
 * each connection, which would give every one its own shape.
 */
export class ReasonedWebSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    super.close(code, data ?? (code === 1009 ? 'message-too-large' : code === undefined ? undefined : 'websocket-error'))
  }
}

/**
 * A session's byte pipe over one WebSocket (`ws`): each binary message is a chunk for the same
 * streaming decoder, each write is one message (several buffers go out as fragments of one
 * message, so nothing is copied), and a close carries the close reason's code and name.
 */
export class WebSocketTransport implements Transport {
  readonly kind = 'websocket'
  readonly remoteAddress: string
  private sink: TransportSink | null
  /** Messages held by a listening pause, or null when not holding. */
  private held: Buffer[] | null = null
  private heldBytes = 0

  constructor(
    private readonly ws: WebSocket,
    /** The socket under `ws`, for its drain event. */
    private readonly socket: Socket,
    readonly request: UpgradeRequest,
    sink: TransportSink,
  ) {
    this.sink = sink
    this.remoteAddress = request.remoteAddress
    ;(ws as WebSocket & Owned)[kOwner] = this
    ;(socket as Socket & Owned)[kOwner] = this
    ws.on('message', onMessage)
    ws.on('error', onError)
    ws.on('close', onClose)
    socket.on('drain', onDrain)
  }

  get writableLength(): number {
    return this.ws.bufferedAmount
  }

  write(data: Buffer | Buffer[]): boolean {
    const ws = this.ws
    if (ws.readyState !== ws.OPEN) return true
    if (Array.isArray(data)) {
      const last = data.length - 1
      for (let i = 0; i < last; i++) ws.send(data[i]!, FRAGMENT)
      ws.send(data[last]!, FINAL)
    } else {
      ws.send(data, FINAL)
    }
    return !this.socket.writableNeedDrain
  }

  /**
   * Over WebSocket a paused socket reads nothing, the peer's close frame included. A listening
   * pause (while `verify` decides) keeps reading and holds the messages instead, so a peer that
   * goes is heard at once; past HOLD_LIMIT bytes it stops reading after all.
   */
  pause(listening = false): void {
    if (listening && this.held === null) this.held = []
    else this.ws.pause()
  }

  resume(): void {
    this.ws.resume()
    const held = this.held
    if (held === null) return
    this.held = null
    this.heldBytes = 0
    // After the transition that resumed reading has finished, in the order they arrived.
    if (held.length > 0) process.nextTick(() => held.forEach((chunk) => this.sink?.onData(chunk)))
  }

  end(reason: CloseReason): void {
    this.close(reason)
  }

  destroy(reason: CloseReason): void {
    // Peers that are gone get nothing more; the others get the close frame with the reason, and
    // ws cuts the connection if its close handshake does not finish within the close timeout.
    if (reason === 'client-closed' || reason === 'reset') {
      this.detach()
      this.ws.terminate()
    } else {
      this.close(reason)
    }
  }

  rebind(sink: TransportSink): void {
    this.sink = sink
  }

  /** A binary message arrived. */
  received(chunk: Buffer): void {
    const held = this.held
    if (held === null) {
      this.sink?.onData(chunk)
      return
    }
    held.push(chunk)
    this.heldBytes += chunk.length
    if (this.heldBytes > HOLD_LIMIT) this.ws.pause()
  }

  drained(): void {
    this.sink?.onDrain()
  }

  peerClosed(reason: TransportCloseReason): void {
    const sink = this.sink
    this.detach()
    sink?.onPeerClose(reason)
  }

  private close(reason: CloseReason): void {
    this.detach()
    const ws = this.ws
    // A paused socket would never read the peer's answering close frame.
    ws.resume()
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(WEBSOCKET_CLOSE_CODES[reason], reason)
  }

  private detach(): void {
    this.sink = null
    this.held = null
  }
}
