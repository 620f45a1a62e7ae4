import type { Socket } from 'node:net'
import type { Transport, TransportSink, UpgradeRequest } from './transport.js'

/** How long a closed session's socket may take to finish its FIN exchange before it is destroyed. */
const LINGER_MS = 2_000

const kSink = Symbol('zerostate.sink')
const kLinger = Symbol('zerostate.linger')

interface OwnedSocket extends Socket {
  [kSink]: TransportSink | null
  [kLinger]?: NodeJS.Timeout
}

/**
 * Listeners are module-level functions that find their session through a symbol on the socket,
 * so accepting a connection creates no closures.
 */
function onData(this: OwnedSocket, chunk: Buffer): void {
  this[kSink]?.onData(chunk)
}

function onDrain(this: OwnedSocket): void {
  this[kSink]?.onDrain()
}

function onEnd(this: OwnedSocket): void {
  report(this, 'client-closed')
}

function onError(this: OwnedSocket): void {
  // ECONNRESET, EPIPE, ETIMEDOUT: every socket error means the peer is gone without a clean FIN.
  report(this, 'reset')
}

function onClose(this: OwnedSocket, hadError: boolean): void {
  report(this, hadError ? 'reset' : 'client-closed')
}

function report(socket: OwnedSocket, reason: 'client-closed' | 'reset'): void {
  const sink = socket[kSink]
  socket[kSink] = null
  sink?.onPeerClose(reason)
}

function destroyLingering(socket: Socket): void {
  socket.destroy()
}

function clearLinger(this: Socket & { [kLinger]?: NodeJS.Timeout }): void {
  clearTimeout(this[kLinger])
}

export class SocketTransport implements Transport {
  readonly kind = 'tcp'
  readonly request: UpgradeRequest | null = null
  readonly remoteAddress: string
  private readonly socket: OwnedSocket

  constructor(socket: Socket, sink: TransportSink) {
    const owned = socket as OwnedSocket
    owned[kSink] = sink
    this.socket = owned
    // A peer that reset before accept completed has no address left to read.
    this.remoteAddress = socket.remoteAddress === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`
    socket.on('data', onData)
    socket.on('drain', onDrain)
    socket.on('end', onEnd)
    socket.on('error', onError)
    socket.on('close', onClose)
  }

  get writableLength(): number {
    return this.socket.writableLength
  }

  write(data: Buffer | Buffer[]): boolean {
    if (!Array.isArray(data)) return this.socket.write(data)
    const socket = this.socket
    socket.cork()
    let ok = true
    for (const chunk of data) ok = socket.write(chunk)
    socket.uncork()
    return ok
  }

  pause(): void {
    this.socket.pause()
  }

  resume(): void {
    this.socket.resume()
  }

  end(): void {
    const socket = this.socket
    socket[kSink] = null
    if (socket.destroyed) return
    socket.end()
    // Discard whatever the peer still sends until it closes too, or until the linger deadline.
    socket.resume()
    socket[kLinger] = setTimeout(destroyLingering, LINGER_MS, socket).unref()
    socket.once('close', clearLinger)
  }

  destroy(): void {
    this.socket[kSink] = null
    this.socket.destroy()
  }

  rebind(sink: TransportSink): void {
    this.socket[kSink] = sink
  }
}
