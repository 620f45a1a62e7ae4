import { createServer, type Server, type Socket } from 'node:net'
import type { Arrivals, Listener, ListenerAddress } from './listener.js'
import { SocketTransport } from './socketTransport.js'

/**
 * A deep accept queue: during a login storm a full one drops SYNs, and each drop costs the client
 * a one-second retransmit (the kernel caps it at net.core.somaxconn).
 */
const LISTEN_BACKLOG = 4096

/** zero's way in: a `node:net` server whose every socket is one session. */
export class TcpListener implements Listener {
  private readonly net: Server

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly arrivals: Arrivals,
  ) {
    this.net = createServer({ noDelay: true }, this.accept)
  }

  listen(): Promise<ListenerAddress> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject)
      this.net.listen({ host: this.host, port: this.port, backlog: LISTEN_BACKLOG }, () => {
        this.net.off('error', reject)
        const bound = this.net.address()
        resolve(typeof bound === 'object' && bound !== null ? { host: bound.address, port: bound.port } : { host: this.host, port: this.port })
      })
    })
  }

  close(): Promise<void> {
    if (!this.net.listening) return Promise.resolve()
    return new Promise((resolve) => this.net.close(() => resolve()))
  }

  sweep(): void {}

  private readonly accept = (socket: Socket): void => {
    if (!this.arrivals.accepting) {
      socket.destroy()
      return
    }
    this.arrivals.arrive((sink) => new SocketTransport(socket, sink))
  }
}
