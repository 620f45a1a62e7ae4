import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import { relayPage } from './relayPage.js'

export interface InspectorRelay {
  /** Where it listens; port 0 asked for is the port picked. */
  readonly host: string
  readonly port: number
  /** The page to open in a browser. */
  readonly pageUrl: string
  /** The URL an inspector feeds (`createWebSocketInspector({ url })`). */
  readonly feedUrl: string
  close(): Promise<void>
}

export interface InspectorRelayOptions {
  host: string
  /** 0 picks a free port. */
  port: number
  /** Messages kept for a viewer that connects late. @default 1000 */
  replay?: number
}

/**
 * A relay for the Stately inspector, on `ws`: an HTTP server that serves {@link relayPage} and
 * takes WebSocket connections on the same port. Every text message one client sends goes to every
 * other client, so any number of processes (each through `createWebSocketInspector`) can feed any
 * number of pages, as with `@statelyai/inspect/server`; the last `replay` messages go to each new
 * client first.
 *
 * It binds to `host` only, and resolves once bound or rejects with the bind error (EADDRINUSE,
 * EACCES, ...). Browsers let any web page open a WebSocket to a local port, so upgrades are taken
 * only from clients that are not browsers (no `Origin`) or from the relay's own page, and only
 * under a Host that is an address or `localhost` (which a DNS-rebinding page cannot claim).
 */
export async function startInspectorRelay(options: InspectorRelayOptions): Promise<InspectorRelay> {
  const replayLimit = options.replay ?? 1_000
  const replay: string[] = []
  const page = relayPage()
  const http = createHttpServer((request, response) => {
    if (!trustedHost(request)) {
      response.writeHead(403).end()
      return
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page)
  })
  const sockets = new WebSocketServer({ noServer: true })
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    if (!trustedHost(request) || !trustedOrigin(request)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n')
      return
    }
    sockets.handleUpgrade(request, socket, head, (client) => sockets.emit('connection', client, request))
  })
  sockets.on('connection', (client: WebSocket) => {
    client.on('error', () => {})
    for (const message of replay) client.send(message)
    client.on('message', (data, isBinary) => {
      if (isBinary) return
      const message = data.toString()
      replay.push(message)
      if (replay.length > replayLimit) replay.shift()
      for (const other of sockets.clients) if (other !== client && other.readyState === WebSocket.OPEN) other.send(message)
    })
  })

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(options.port, options.host, () => {
      http.off('error', reject)
      resolve()
    })
  })
  // After the bind, an error (none is expected of a listening server) must not be an unhandled one.
  http.on('error', () => {})
  const { address, port } = http.address() as { address: string; port: number }
  const reachable = reachableHost(address)
  return {
    host: address,
    port,
    pageUrl: `http://${reachable}:${port}`,
    feedUrl: `ws://${reachable}:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const client of sockets.clients) client.terminate()
        sockets.close()
        http.close(() => resolve())
        http.closeAllConnections()
      }),
  }
}

/** An address a browser or a client on this machine can use for `host` (an unspecified one is every interface). */
function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return isIP(host) === 6 ? `[${host}]` : host
}

function hostName(request: IncomingMessage): string | null {
  const host = request.headers.host
  if (host === undefined) return null
  try {
    return new URL(`http://${host}`).hostname.replace(/^\[(.*)\]$/, '$1')
  } catch {
    return null
  }
}

function trustedHost(request: IncomingMessage): boolean {
  const name = hostName(request)
  return name !== null && (isIP(name) !== 0 || name === 'localhost')
}

function trustedOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin
  return origin === undefined || origin === `http://${request.headers.host}`
}
