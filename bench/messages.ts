/**
 * The calls the orchestrator makes into its children. Times named `...At` are {@link epochNow}
 * values, comparable across processes.
 */

export interface ServerStats {
  rss: number
  heapUsed: number
  /** process.cpuUsage() user + system, in ms since the child started. */
  cpuMs: number
  /** Sessions the server holds right now. */
  sessions: number
  /** Sessions ever reported connected (zerostate: onConnect calls; ceiling: accepted sockets). */
  connects: number
}

export type ServerCalls = {
  /**
   * `listenedAt`: when listen() resolved. Both servers start their heartbeat sweep there, so their
   * ticks fall at `listenedAt` + k × the sweep period (to within a millisecond).
   */
  listen: { args: Record<string, never>; result: { port: number; listenedAt: number } }
  /** With `gc`, runs a full GC first, so `rss` reflects live memory. */
  stats: { args: { gc: boolean }; result: ServerStats }
  /** Resolves with the time the connect counter reached `target` (it may already have). */
  'wait-connects': { args: { target: number; timeoutMs: number }; result: { at: number } }
  /** Resolves once the server holds exactly `count` sessions, or with reached=false at the timeout. */
  'wait-sessions': { args: { count: number; timeoutMs: number }; result: { reached: boolean; sessions: number } }
  /** `at`: just before the server's broadcast call; `doneAt`: when it returned, every session's write stamped. */
  broadcast: { args: { id: number; size: number }; result: { at: number; doneAt: number; reached: number } }
  stop: { args: Record<string, never>; result: Record<string, never> }
}

/** A WebSocket server under test as the generator reaches it (see bench/load/ws-peers.ts). */
export interface WsTarget {
  /** `zero`: zero frames in binary messages over raw ws clients; `colyseus`: Colyseus' SDK and an echo room. */
  client: 'zero' | 'colyseus'
  port: number
}

/** A closed-loop echo load: each connection keeps `inFlight` frames of `payloadSize` bytes outstanding. */
export interface LoadShape {
  connections: number
  inFlight: number
  payloadSize: number
}

export interface Window {
  warmupMs: number
  durationMs: number
}

export interface Percentiles {
  p50: number
  p99: number
  p999: number
  max: number
  count: number
}

export type GeneratorCalls = {
  /** Opens the latency load: one frame in flight per connection, looping once every connection has had its first echo. */
  'latency-start': { args: { port: number; connections: number; payloadSize: number }; result: Record<string, never> }
  /** Round trips of the latency load over the window (its warm-up counted from the loops' start); then closes it. */
  'latency-measure': { args: { window: Window }; result: Percentiles & { generatorCpu: number } }
  /** Opens `count` sessions (each sends one frame and waits for its echo) and keeps them, answering heartbeats. */
  'idle-open': { args: { port: number; count: number; concurrency: number; timeoutMs: number }; result: { startedAt: number; doneAt: number } }
  'idle-stats': { args: Record<string, never>; result: { open: number; heartbeats: number; closedByServer: number } }
  /** Forgets every broadcast seen so far. */
  'idle-reset-broadcast': { args: Record<string, never>; result: Record<string, never> }
  /** Resolves when `expected` idle sessions have each received a data frame since the reset. */
  'idle-wait-broadcast': { args: { expected: number; timeoutMs: number }; result: { received: number; lastAt: number } }
  'idle-close': { args: Record<string, never>; result: Record<string, never> }
  /** Closes every connection this generator holds: a clean slate for the next server. */
  reset: { args: Record<string, never>; result: Record<string, never> }
  /** Starts a closed-loop echo load in the background; resolves once every connection is up. */
  'load-start': { args: { port: number; shape: LoadShape }; result: Record<string, never> }
  /**
   * Echoed frames per second of the background load over the window; its warm-up counts from the
   * load's start, so the window opens at once if the load has run that long already.
   */
  'load-measure': { args: { window: Window }; result: { framesPerSec: number; payloadBytesPerSec: number; generatorCpu: number } }
  /** Stops the background load: its echoed frames per second since the start. */
  'load-stop': { args: Record<string, never>; result: { framesPerSec: number } }
  /** `count` new connections in one burst, each sending one frame: time from connect() to its echo. */
  'connect-burst': {
    args: { port: number; count: number; payloadSize: number; timeoutMs: number }
    result: Percentiles & { incomplete: number }
  }
  /** WebSocket idle sessions (bench/load/ws-loads.ts): opens `count` more, each echoed once; `generatorCpu`: this process's share of a core meanwhile. */
  'ws-idle-open': {
    args: { target: WsTarget; count: number; concurrency: number; timeoutMs: number }
    result: { startedAt: number; doneAt: number; generatorCpu: number }
  }
  'ws-idle-stats': { args: Record<string, never>; result: { open: number; closedByServer: number } }
  'ws-idle-close': { args: Record<string, never>; result: Record<string, never> }
  /** A closed-loop WebSocket echo load in the background; resolves once every session is up. */
  'ws-load-start': { args: { target: WsTarget; shape: LoadShape }; result: Record<string, never> }
  /** As load-measure, for the WebSocket load: echoes per second over the window (warm-up counted from its start). */
  'ws-load-measure': { args: { window: Window }; result: { framesPerSec: number; generatorCpu: number } }
  'ws-load-stop': { args: Record<string, never>; result: Record<string, never> }
  /** As latency-start and latency-measure, over WebSocket. */
  'ws-latency-start': { args: { target: WsTarget; connections: number; payloadSize: number }; result: Record<string, never> }
  'ws-latency-measure': { args: { window: Window }; result: Percentiles & { generatorCpu: number } }
}
