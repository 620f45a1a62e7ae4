/**
 * The part of the standard WebSocket API the client uses, so that the browser's `WebSocket` and
 * the `ws` package's (Node 20 has no global one) both fit without either's types being imported.
 * Listeners are declared as methods, so each implementation's richer event types are accepted.
 */
export interface WebSocketLike {
  /** Set to 'arraybuffer': binary messages then arrive as ArrayBuffers in every implementation. */
  binaryType: string
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'open', listener: () => void): void
  addEventListener(type: 'message', listener: (event: WebSocketMessageEventLike) => void): void
  addEventListener(type: 'close', listener: (event: WebSocketCloseEventLike) => void): void
  addEventListener(type: 'error', listener: () => void): void
}

export interface WebSocketMessageEventLike {
  /** An ArrayBuffer for a binary message (binaryType 'arraybuffer'), a string for a text one. */
  readonly data: unknown
}

export interface WebSocketCloseEventLike {
  readonly code: number
  readonly reason: string
}

/** A WebSocket class: `globalThis.WebSocket` in a browser, `WebSocket` from 'ws' in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

/** `readyState` of a closed socket. */
export const WEBSOCKET_CLOSED = 3
