import { ClientCore } from './client/clientCore.js'
import type { ClientPipe, PipeEvents } from './client/clientPipe.js'
import { type CommonClientOptions, resolveClientSettings } from './client/clientSettings.js'
import { WEBSOCKET_CLOSED, type WebSocketConstructor, type WebSocketLike } from './client/webSocketLike.js'
import type { ClientCloseReason, ZerostateClient } from './client/zerostateClient.js'
import { OptionError } from './errors.js'
import { concatBytes } from './protocol/concatBytes.js'
import { closeReasonOf } from './transport/closeCodes.js'

export type { WebSocketCloseEventLike, WebSocketConstructor, WebSocketLike, WebSocketMessageEventLike } from './client/webSocketLike.js'

export interface WebSocketClientOptions extends CommonClientOptions {
  /** The server's WebSocket address, e.g. `ws://127.0.0.1:18789/`. */
  url: string | URL
  /** The WebSocket class; in Node 20 pass `WebSocket` from the `ws` package. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor
  /** Subprotocols to offer in the upgrade request. */
  protocols?: string | string[]
}

/** Close code the client sends: 1000, the one code besides 3000-4999 a browser may send. */
const NORMAL_CLOSURE = 1000
/** Close code a WebSocket reports when the connection ended without a close frame. */
const ABNORMAL_CLOSURE = 1006

/**
 * Connects to a zerostate server's WebSocket listener. Each binary message carries whole zero
 * frames; the client answers the server's heartbeats and sends its own when it has sent nothing
 * for `heartbeatInterval`, and the frames sent in one tick travel in one message. When the server
 * closes the session, `closed` resolves with the close reason its close frame names
 * (`handshake-rejected`, `server-stopping`, ...).
 *
 * Runs in browsers (over the global `WebSocket`) and in Node (pass `ws`'s `WebSocket`). Rejects
 * with an Error if the connection cannot be opened.
 *
 * @example
 * const client = await connectWebSocket({ url: 'ws://127.0.0.1:18789/' })
 * client.send({ id: 1, data: new TextEncoder().encode('hello') })
 * const echo = await client.receive()
 */
export function connectWebSocket(options: WebSocketClientOptions): Promise<ZerostateClient> {
  const settings = resolveClientSettings(options)
  const url = options.url
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new OptionError(`Expected \`url\` to be a ws:// or wss:// URL, got \`${String(url)}\` (${typeof url})`, 'url')
  }
  const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (typeof WebSocketClass !== 'function') {
    throw new OptionError(
      'Expected `WebSocket` to be a WebSocket class: this environment has no global WebSocket (in Node 20, pass `WebSocket` from the ws package)',
      'WebSocket',
    )
  }
  const open = () => openWebSocket(WebSocketClass, url, options.protocols)
  return open().then(
    (first) => new ClientCore(settings, (events) => new WebSocketPipe(first, events), (events) => open().then((next) => new WebSocketPipe(next, events))),
  )
}

/** An open WebSocket; rejects if the connection fails or the URL is not a WebSocket URL. */
function openWebSocket(WebSocketClass: WebSocketConstructor, url: string | URL, protocols: string | string[] | undefined): Promise<WebSocketLike> {
  let socket: WebSocketLike
  try {
    socket = new WebSocketClass(String(url), protocols)
  } catch (error) {
    // The standard constructor throws a SyntaxError (a DOMException in browsers) for a bad URL.
    if ((error as { name?: unknown } | null)?.name !== 'SyntaxError') throw error
    throw new OptionError(`Expected \`url\` to be a ws:// or wss:// URL, got \`${String(url)}\`: ${(error as Error).message}`, 'url')
  }
  socket.binaryType = 'arraybuffer'
  return new Promise((resolve, reject) => {
    let opened = false
    socket.addEventListener('open', () => {
      opened = true
      resolve(socket)
    })
    // Before 'open', a failed connection reports 'error' then 'close'; both reject (once).
    const failed = (): void => {
      if (!opened) reject(new Error(`WebSocket connection to ${String(url)} failed`))
    }
    socket.addEventListener('error', failed)
    socket.addEventListener('close', failed)
  })
}

/** One WebSocket under a client: one tick's frames are one binary message. */
class WebSocketPipe implements ClientPipe {
  readonly closed: Promise<void>

  constructor(
    private readonly socket: WebSocketLike,
    events: PipeEvents,
  ) {
    let resolveClosed!: () => void
    this.closed = new Promise((resolve) => (resolveClosed = resolve))
    socket.addEventListener('message', (event) => {
      const data = event.data
      if (data instanceof ArrayBuffer) events.data(new Uint8Array(data))
      else if (ArrayBuffer.isView(data)) events.data(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      // zero frames travel in binary messages only; a text message is not zerostate speaking.
      else events.invalid('text-message')
    })
    socket.addEventListener('close', (event) => {
      events.ended(closeReasonOf(event.reason) ?? (event.code === ABNORMAL_CLOSURE ? 'reset' : 'server-closed'))
      resolveClosed()
    })
    // Every error is followed by a close event, which says how it ended; a listener must exist
    // all the same (ws throws an 'error' no one listens to).
    socket.addEventListener('error', () => {})
    if (socket.readyState === WEBSOCKET_CLOSED) resolveClosed()
  }

  write(frames: readonly Uint8Array[], byteLength: number): void {
    this.socket.send(frames.length === 1 ? frames[0]! : concatBytes(frames, byteLength))
  }

  end(): void {
    this.socket.close(NORMAL_CLOSURE, 'client-closed')
  }

  /** Closes, saying why in the reason text (a browser may not send the matching 1008 or 1003). */
  abort(reason: ClientCloseReason): void {
    this.socket.close(NORMAL_CLOSURE, reason)
  }
}
