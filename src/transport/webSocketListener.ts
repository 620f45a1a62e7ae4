import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws'
import type { Arrivals, Listener, ListenerAddress } from './listener.js'
import { serveStatic } from './staticFiles.js'
import type { UpgradeRequest } from './transport.js'
import { ReasonedWebSocket, WebSocketTransport } from './webSocketTransport.js'

/** Why an upgrade was refused; the HTTP response's body is the code. */
export type UpgradeRefusal = 'not-found' | 'origin-not-allowed' | 'bad-upgrade' | 'handshake-timeout' | 'server-stopping'

const REFUSAL_STATUS: Readonly<Record<UpgradeRefusal, number>> = {
  'not-found': 404,
  'origin-not-allowed': 403,
  'bad-upgrade': 400,
  'handshake-timeout': 408,
  'server-stopping': 503,
}

export interface WebSocketListenerOptions {
  host: string
  port: number
  /** The one path that upgrades; others get 404. */
  path: string
  /**
   * Origins whose pages may open sessions (`https://game.example`), or `'*'` for any. Requests
   * with no Origin header (not from a browser) and same-origin pages are always let in.
   */
  allowedOrigins: readonly string[] | '*'
  /** Largest WebSocket message accepted: one frame of `maxPayload`. Refused from the message header. */
  maxMessage: number
  /** Time a connection has to finish its upgrade; judged by the server's sweep. */
  upgradeTimeout: number
  /** How long a close handshake may take before the connection is cut. */
  closeTimeout: number
  /** The absolute directory whose files plain GETs get (see staticFiles.ts), or null for the short text. */
  static: string | null
}

/** The text a plain GET gets: this port speaks WebSocket. */
const PLAIN_ANSWER = 'zerostate: this port speaks zero frames over WebSocket; connect a WebSocket client to it.\n'

/**
 * The browser's way in: an HTTP server whose upgrades on `path` become sessions over `ws`, with
 * the same frames as TCP. Origins are checked before the upgrade (a page on another site must not
 * open sessions with the player's cookies: cross-site WebSocket hijacking), and every connection
 * that has not upgraded within `upgradeTimeout` is cut by the sweep, so a slowloris on the
 * upgrade holds a socket for a bounded time.
 */
export class WebSocketListener implements Listener {
  private readonly http: Server
  private readonly wss: WebSocketServer
  /** Connections not upgraded yet, with when they opened. */
  private readonly pending = new Map<Socket, number>()

  constructor(
    private readonly options: WebSocketListenerOptions,
    private readonly arrivals: Arrivals,
    private readonly now: () => number,
  ) {
    this.http = createServer(this.answer)
    this.http.on('connection', this.connected)
    this.http.on('upgrade', this.upgrade)
    // closeTimeout is ws's (8.19+), not yet in @types/ws.
    const settings: ServerOptions<typeof ReasonedWebSocket> & { closeTimeout: number } = {
      WebSocket: ReasonedWebSocket,
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxMessage,
      closeTimeout: options.closeTimeout,
    }
    this.wss = new WebSocketServer(settings)
    // ws's own checks of the upgrade request (method, headers, key, version) answer with our body.
    this.wss.on('wsClientError', (_error: Error, socket: Socket) => refuse(socket, 'bad-upgrade'))
  }

  listen(): Promise<ListenerAddress> {
    const { host, port } = this.options
    return new Promise((resolve, reject) => {
      this.http.once('error', reject)
      this.http.listen({ host, port }, () => {
        this.http.off('error', reject)
        const bound = this.http.address()
        resolve(typeof bound === 'object' && bound !== null ? { host: bound.address, port: bound.port } : { host, port })
      })
    })
  }

  close(): Promise<void> {
    for (const socket of this.pending.keys()) socket.destroy()
    this.pending.clear()
    if (!this.http.listening) return Promise.resolve()
    return new Promise((resolve) => this.http.close(() => resolve()))
  }

  sweep(now: number): void {
    const { upgradeTimeout } = this.options
    for (const [socket, openedAt] of this.pending) {
      // A connection that closed before upgrading is forgotten here, not by a listener of its own.
      if (socket.destroyed) this.pending.delete(socket)
      else if (now - openedAt >= upgradeTimeout) {
        this.pending.delete(socket)
        refuse(socket, 'handshake-timeout')
      }
    }
  }

  private readonly connected = (socket: Socket): void => {
    this.pending.set(socket, this.now())
  }

  private readonly answer = (request: IncomingMessage, response: ServerResponse): void => {
    response.shouldKeepAlive = false
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method-not-allowed\n')
      return
    }
    if (this.options.static !== null) {
      void serveStatic(this.options.static, request, response)
      return
    }
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(PLAIN_ANSWER)
  }

  private readonly upgrade = (request: IncomingMessage, socket: Socket, head: Buffer): void => {
    this.pending.delete(socket)
    const refusal = this.refusalOf(request)
    if (refusal !== null) return refuse(socket, refusal)
    this.wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      if (!this.arrivals.accepting) {
        ws.close(1001, 'server-stopping')
        return
      }
      const upgrade = describe(request, socket)
      this.arrivals.arrive((sink) => new WebSocketTransport(ws, socket, upgrade, sink))
    })
  }

  private refusalOf(request: IncomingMessage): UpgradeRefusal | null {
    if (!this.arrivals.accepting) return 'server-stopping'
    const path = (request.url ?? '/').split('?', 1)[0]
    if (path !== this.options.path) return 'not-found'
    if (!originAllowed(request, this.options.allowedOrigins)) return 'origin-not-allowed'
    return null
  }
}

/**
 * No Origin: not a browser, which cannot be made to send requests without one. Same origin: the
 * page was served by this host. Otherwise only the origins asked for.
 */
function originAllowed(request: IncomingMessage, allowed: readonly string[] | '*'): boolean {
  const origin = request.headers.origin
  if (origin === undefined || allowed === '*') return true
  if (allowed.includes(origin)) return true
  try {
    return new URL(origin).host === request.headers.host
  } catch {
    return false
  }
}

function describe(request: IncomingMessage, socket: Socket): UpgradeRequest {
  return {
    url: request.url ?? '/',
    origin: request.headers.origin,
    headers: request.headers,
    remoteAddress: socket.remoteAddress === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`,
  }
}

function refuse(socket: Socket, refusal: UpgradeRefusal): void {
  if (socket.destroyed) return
  const status = REFUSAL_STATUS[refusal]
  const body = `${refusal}\n`
  socket.once('finish', () => socket.destroy())
  socket.end(`HTTP/1.1 ${status} ${refusal}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
}
