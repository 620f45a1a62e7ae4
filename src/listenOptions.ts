/**
 * What `server.listen()` takes and gives back: where TCP and WebSocket listen, checked and filled
 * in before anything binds.
 */
import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import { OptionError } from './errors.js'
import { integerIn, PORT_RANGE, quote } from './options.js'

export interface ListenOptions {
  /** @default '127.0.0.1' */
  host?: string
  /** The TCP port; 0 picks a free one; false: no TCP. @default 18787 */
  port?: number | false
  /** Accept WebSocket sessions too (or only, with `port: false`); `true` takes every default. */
  webSocket?: WebSocketListenOptions | boolean
}

export interface WebSocketListenOptions {
  /** @default the TCP host */
  host?: string
  /** 0 picks a free one. @default 18789 */
  port?: number
  /** The path that upgrades; other paths get 404. @default '/' */
  path?: string
  /**
   * Origins whose pages may open sessions, e.g. `['https://game.example']`, or `'*'` for any.
   * Clients that send no Origin (not browsers) and pages served from this host are always let in;
   * other sites' pages are refused, so they cannot open sessions as your players.
   * @default []
   */
  allowedOrigins?: readonly string[] | '*'
  /**
   * A directory whose files plain GETs on this port get (`/` is its `index.html`), so a game's
   * page comes from where its sessions connect. Only files under it are served: paths with `..`
   * (encoded or not) are refused with 403, missing files get 404. Without it, a GET gets a short
   * text. Checked to be a directory before anything binds.
   * @default none
   * @example webSocket: { port: 18789, static: 'examples/arena/public' }
   */
  static?: string
}

export interface Address {
  host: string
  /** The TCP port, or null without TCP. */
  port: number | null
  webSocket: WebSocketAddress | null
}

export interface WebSocketAddress {
  host: string
  port: number
  path: string
  /** What a client connects to: `ws://127.0.0.1:18789/`. */
  url: string
}

export const DEFAULT_WEBSOCKET_PORT = 18789

/** What `listen()` will bind, every default filled in. */
export interface ListenPlan {
  host: string
  port: number | false
  webSocket: { host: string; port: number; path: string; allowedOrigins: readonly string[] | '*'; static: string | null } | null
}

/** Fills in `listen()`'s defaults and rejects bad values before anything binds. */
export function listenPlan({ host = '127.0.0.1', port = 18787, webSocket = false }: ListenOptions): ListenPlan {
  if (typeof host !== 'string' || host === '') throw new OptionError(`Expected \`host\` to be a host name or address, got ${quote(host)}`, 'host')
  if (port !== false) integerIn('port', port, PORT_RANGE)
  if (webSocket === false) {
    if (port === false) throw new OptionError('Expected a TCP `port`, a `webSocket`, or both, got neither', 'port')
    return { host, port, webSocket: null }
  }
  const ws = webSocket === true ? {} : webSocket
  if (typeof ws !== 'object' || ws === null) throw new OptionError(`Expected \`webSocket\` to be a boolean or an object, got ${quote(ws)}`, 'webSocket')
  const { host: wsHost = host, port: wsPort = DEFAULT_WEBSOCKET_PORT, path = '/', allowedOrigins = [], static: files } = ws
  if (typeof wsHost !== 'string' || wsHost === '') throw new OptionError(`Expected \`webSocket.host\` to be a host name or address, got ${quote(wsHost)}`, 'webSocket.host')
  integerIn('webSocket.port', wsPort, PORT_RANGE)
  if (typeof path !== 'string' || !path.startsWith('/')) throw new OptionError(`Expected \`webSocket.path\` to be a path starting with /, got ${quote(path)}`, 'webSocket.path')
  if (allowedOrigins !== '*' && !(Array.isArray(allowedOrigins) && allowedOrigins.every((origin) => typeof origin === 'string'))) {
    throw new OptionError(`Expected \`webSocket.allowedOrigins\` to be '*' or an array of origins, got ${quote(allowedOrigins)}`, 'webSocket.allowedOrigins')
  }
  return { host, port, webSocket: { host: wsHost, port: wsPort, path, allowedOrigins, static: files === undefined ? null : staticDirectory(files) } }
}

/** The absolute directory `webSocket.static` names; it must exist now. */
function staticDirectory(files: unknown): string {
  const wrong = () => new OptionError(`Expected \`webSocket.static\` to be the path of a directory, got ${quote(files)}`, 'webSocket.static')
  if (typeof files !== 'string' || files === '') throw wrong()
  const dir = resolve(files)
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() !== true) throw wrong()
  return dir
}

/** What a client connects to: `ws://127.0.0.1:18789/`, `ws://[::1]:18789/play`. */
export function urlOf({ host, port }: { host: string; port: number }, path: string): string {
  return `ws://${host.includes(':') ? `[${host}]` : host}:${port}${path}`
}
