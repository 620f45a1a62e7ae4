/**
 * A TCP proxy on 127.0.0.1 in front of a server, to lose connections the way networks do: `cut()`
 * resets both ends of every connection through it at once, bytes in flight lost. A client that
 * connects through it (TCP, or a WebSocket to ws://127.0.0.1:<proxy port>/) sees a reset and the
 * server a reset, and neither side did anything wrong.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

interface Pair {
  client: Socket
  server: Socket
}

export class CutProxy {
  readonly port: number
  /** Connections made through the proxy so far. */
  connections = 0
  /** While true, every new connection is reset as it arrives: the network is down. */
  blocking = false
  /** Where new connections go: change it, and the next ones reach another server (a load balancer's choice). */
  target: number
  private readonly pairs = new Set<Pair>()
  /** Ends left open by a cut that kept the server side, or by a freeze. */
  private readonly held: Socket[] = []

  private constructor(
    private readonly listener: Server,
    port: number,
    target: number,
  ) {
    this.port = port
    this.target = target
  }

  static async open(targetPort: number): Promise<CutProxy> {
    let proxy: CutProxy | null = null
    const listener = createServer({ noDelay: true }, (client) => proxy!.accept(client))
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
    proxy = new CutProxy(listener, (listener.address() as { port: number }).port, targetPort)
    return proxy
  }

  /**
   * Loses every connection now. `keepServerSide`: the server's end stays open and silent, as when
   * a client's network dies and the server has not noticed yet; `releaseServerSides()` resets it later.
   */
  cut(options: { keepServerSide?: boolean } = {}): void {
    for (const pair of this.pairs) {
      pair.client.resetAndDestroy()
      if (options.keepServerSide) {
        pair.server.removeAllListeners('data')
        pair.server.pause()
        this.held.push(pair.server)
      } else {
        pair.server.resetAndDestroy()
      }
    }
    this.pairs.clear()
  }

  /**
   * Stops every connection through the proxy from carrying anything, without closing it: a network
   * that went silent, a NAT that forgot the connection. Both ends still look connected.
   */
  freeze(): void {
    for (const pair of this.pairs) {
      for (const socket of [pair.client, pair.server]) {
        socket.removeAllListeners('data')
        socket.pause()
        this.held.push(socket)
      }
    }
    this.pairs.clear()
  }

  /** Resets the ends `cut({ keepServerSide: true })` and `freeze()` left open. */
  releaseServerSides(): void {
    for (const socket of this.held.splice(0)) socket.resetAndDestroy()
  }

  async close(): Promise<void> {
    this.cut()
    this.releaseServerSides()
    await new Promise<void>((resolve) => this.listener.close(() => resolve()))
  }

  private accept(client: Socket): void {
    if (this.blocking) {
      client.on('error', () => {})
      client.resetAndDestroy()
      return
    }
    this.connections++
    const server = connect({ host: '127.0.0.1', port: this.target, noDelay: true })
    const pair = { client, server }
    this.pairs.add(pair)
    const drop = () => {
      if (!this.pairs.delete(pair)) return
      client.destroy()
      server.destroy()
    }
    client.on('data', (chunk) => server.write(chunk))
    server.on('data', (chunk) => client.write(chunk))
    client.on('end', () => server.end())
    server.on('end', () => client.end())
    for (const socket of [client, server]) {
      socket.on('error', drop)
      socket.on('close', drop)
    }
  }
}
