import type { Socket } from 'node:net'
import type { RawData, WebSocket } from 'ws'
import type { CloseReason, TransportCloseReason } from '../../machines/closeReason.js'
import { WEBSOCKET_CLOSE_CODES } from './closeCodes.js'
import type { Transport, TransportSink, UpgradeRequest } from './transport.js'

const kSink = Symbol('zerostate.sink')

interface OwnedWebSocket extends WebSocket {
  [kSink]: TransportSink | null
}

interface OwnedSocket extends Socket {
  [kSink]: TransportSink | null
}

const FINAL = { binary: true, fin: true } as const
const FRAGMENT = { binary: true, fin: false } as const

/** Listeners are module-level functions that find their session through a symbol, as over TCP. */
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  // With ws's default binaryType ('nodebuffer') a binary message is one Buffer, fragments joined.
  if (isBinary) (this as OwnedWebSocket)[kSink]?.onData(data as Buffer)
  else report(this, 'text-message')
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  // ws names the peer's protocol violations WS_ERR_*, and closes with their status code itself.
  const code = error.code
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') report(this, 'message-too-large')
  else if (typeof code === 'string' && code.startsWith('WS_ERR_')) report(this, 'websocket-error')
  else report(this, 'reset')
}

function onClose(this: WebSocket, code: number): void {
  report(this, code === 1006 ? 'reset' : 'client-closed')
}

function onDrain(this: OwnedSocket): void {
  this[kSink]?.onDrain()
}

function report(ws: WebSocket, reason: TransportCloseReason): void {
  const owned = ws as OwnedWebSocket
  const sink = owned[kSink]
  owned[kSink] = null
  sink?.onPeerClose(reason)
}

/**
 * A session's byte pipe over one WebSocket (`ws`): each binary message is a chunk for the same
 * streaming decoder, each write is one message (several buffers go out as fragments of one
 * message, so nothing is copied), and a close carries the close reason's code and name.
 */
export class WebSocketTransport implements Transport {
  readonly kind = 'websocket'
  readonly remoteAddress: string

  constructor(
    private readonly ws: WebSocket,
    /** The socket under `ws`, for its drain event. */
    private readonly socket: Socket,
    readonly request: UpgradeRequest,
    sink: TransportSink,
  ) {
    this.remoteAddress = request.remoteAddress
    const owned = ws as OwnedWebSocket
    owned[kSink] = sink
    ;(socket as OwnedSocket)[kSink] = sink
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

  pause(): void {
    this.ws.pause()
  }

  resume(): void {
    this.ws.resume()
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

  private close(reason: CloseReason): void {
    this.detach()
    const ws = this.ws
    // A paused socket would never read the peer's answering close frame.
    ws.resume()
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(WEBSOCKET_CLOSE_CODES[reason], reason)
  }

  private detach(): void {
    ;(this.ws as OwnedWebSocket)[kSink] = null
    ;(this.socket as OwnedSocket)[kSink] = null
  }
}
