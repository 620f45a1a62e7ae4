import { connect as connectSocket, type Socket } from 'node:net'
import { integerIn, PORT_RANGE } from './options.js'
import type { ZerostateClient } from './client/zerostateClient.js'
import { ClientCore } from './client/clientCore.js'
import { type ClientSettings, type CommonClientOptions, resolveClientSettings } from './client/clientSettings.js'

export type { ClientCloseReason, ZerostateClient } from './client/zerostateClient.js'
export type { CommonClientOptions } from './client/clientSettings.js'

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
  return new Promise((resolve, reject) => {
    const socket = connectSocket({ host: options.host ?? '127.0.0.1', port: options.port, noDelay: true })
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(new SocketClient(socket, settings))
    })
  })
}

/** The client core over a `node:net` socket: one tick's frames are one (vectored) write. */
class SocketClient extends ClientCore implements Client {
  readonly localPort: number
  private readonly socket: Socket

  constructor(socket: Socket, settings: ClientSettings) {
    super(settings)
    this.socket = socket
    this.localPort = socket.localPort ?? 0
    socket.on('data', (chunk: Buffer) => this.deliver(chunk))
    socket.on('end', () => this.finish('server-closed'))
    socket.on('error', () => this.finish('reset'))
    socket.on('close', (hadError) => this.finish(hadError ? 'reset' : 'server-closed'))
  }

  reset(): void {
    if (this.closeReason === null) this.finish('client-closed')
    this.socket.resetAndDestroy()
  }

  protected writeFrames(frames: readonly Uint8Array[]): void {
    if (frames.length === 1) {
      this.socket.write(frames[0]!)
      return
    }
    this.socket.cork()
    for (const frame of frames) this.socket.write(frame)
    this.socket.uncork()
  }

  protected endPipe(): void {
    this.socket.end()
  }

  protected abortPipe(): void {
    this.socket.destroy()
  }

  protected pipeClosed(): Promise<void> {
    if (this.socket.closed) return Promise.resolve()
    return new Promise((resolve) => this.socket.once('close', () => resolve()))
  }
}
