import type { Transport, TransportSink } from './transport.js'

/** Where a listener listens. */
export interface ListenerAddress {
  host: string
  port: number
}

/** What a listener hands its connections to: the server. */
export interface Arrivals {
  /** False once the server stops: a listener refuses what still arrives. */
  readonly accepting: boolean
  /** A connection arrived; `open` builds its transport around the session's sink. */
  arrive(open: (sink: TransportSink) => Transport): void
}

/**
 * One way in (TCP, WebSocket). The server knows only this: it starts listeners, hears arrivals,
 * and stops them.
 */
export interface Listener {
  /** Binds; rejects if the address cannot be taken. */
  listen(): Promise<ListenerAddress>
  /**
   * Stops accepting and resolves once the listening socket is closed and every connection it
   * accepted has ended (the sessions close them).
   */
  close(): Promise<void>
  /** Called on every tick of the server's sweep, for deadlines the listener keeps itself. */
  sweep(now: number): void
}
