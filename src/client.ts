import { connect as connectSocket, type Socket } from 'node:net'
import { integerIn, PORT_RANGE } from './options.js'
import type { ZerostateClient } from './client/zerostateClient.js'
import { ClientCore } from './client/clientCore.js'
import type { ClientPipe, PipeEvents } from './client/clientPipe.js'
import { type CommonClientOptions, resolveClientSettings } from './client/clientSettings.js'

export type { ClientCloseReason, ClientStatus, ZerostateClient } from './client/zerostateClient.js'
export type { ClientResumeOptions, CommonClientOptions } from './client/clientSettings.js'

export interface ClientOptions extends CommonClientOptions {
  /** @default '127.0.0.1' */
  host?: string
  port: number
}

/** The client end of a TCP connection: a {@link ZerostateClient}, plus what only TCP has. */
export interface Client extends ZerostateClient {
  /** Closes with a TCP RST, as a crashing peer would. */
  reset(): void
  readonly localPort: number
}

/**
 * Connects to a zerostate or zero server over TCP. The client answers every heartbeat it
 * receives and sends its own when it has sent nothing for `heartbeatInterval`.
 *
 * @example
 * const client = await connect({ port: 18787 })
 * client.send({ id: 1, data: Buffer.from('hello') })
 * const echo = await client.receive()
 */
export function connect(options: ClientOptions): Promise<Client> {
  const settings = resolveClientSettings(options)
  integerIn('port', options.port, PORT_RANGE)
  const open = () => openSocket(options.host ?? '127.0.0.1', options.port)
  // The first connection is made before the client exists: connect() rejects if it fails.
  return open().then(
    (socket) => new SocketClient(settings, (events) => new SocketPipe(socket, events), (events) => open().then((next) => new SocketPipe(next, events))),
  )
}

/** A TCP connection to `host:port`, once connected; rejects if it fails. */
function openSocket(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectSocket({ host, port, noDelay: true })
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
  })
}

/** One TCP connection under a client: one tick's frames are one (vectored) write. */
class SocketPipe implements ClientPipe {
  readonly closed: Promise<void>

  constructor(
    readonly socket: Socket,
    events: PipeEvents,
  ) {
    socket.on('data', (chunk: Buffer) => events.data(chunk))
    socket.on('end', () => events.ended('server-closed'))
    socket.on('error', () => events.ended('reset'))
    socket.on('close', (hadError) => events.ended(hadError ? 'reset' : 'server-closed'))
    this.closed = socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()))
  }

  write(frames: readonly Uint8Array[]): void {
    const socket = this.socket
    if (frames.length === 1) {
      socket.write(frames[0]!)
      return
    }
    socket.cork()
    for (const frame of frames) socket.write(frame)
    socket.uncork()
  }

  end(): void {
    this.socket.end()
  }

  abort(): void {
    this.socket.destroy()
  }
}

/** The client core over TCP, with what only TCP has. */
class SocketClient extends ClientCore<SocketPipe> implements Client {
  get localPort(): number {
    return this.pipe?.socket.localPort ?? 0
  }

  reset(): void {
    this.abandon()?.socket.resetAndDestroy()
  }
}
