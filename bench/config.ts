import type { LoadShape, Window } from './messages.js'

export type BenchMode = 'quick' | 'full' | 'smoke'

/**
 * Sizes and durations of one bench mode. In quick and full runs scenario shapes are issue 3's and
 * only durations differ; a smoke run shrinks the shapes too (see {@link smokeConfig}).
 */
export interface BenchConfig {
  mode: BenchMode
  /** Each figure is the median over this many runs, each against a fresh server process. */
  runs: number
  /** Sessions opened and closed on a fresh server before its idle-memory baseline (see `prelude` in measure-server.ts). */
  warmUpSessions: number
  throughput: { shape: LoadShape; window: Window }
  latency: { connections: number; payloadSize: number; window: Window }
  bulk: { shape: LoadShape; window: Window }
  /** Idle-memory checkpoints, ascending; the first one also hosts the heartbeat and broadcast scenarios. */
  idleSessions: number[]
  /** Sessions awaiting their first echo at once while a pool opens. */
  openConcurrency: number
  /** Sessions opened, `openConcurrency` awaiting their first echo at a time, on the server emptied of the idle pool: the connect rate. */
  connectSessions: number
  /**
   * Both servers run their defaults: a heartbeat to each session written nothing to for
   * `intervalMs`, from a sweep every `sweepMs` (interval/4) whose ticks start at listen().
   */
  heartbeat: {
    intervalMs: number
    sweepMs: number
    /** The window opens and closes this long after a sweep tick: its heartbeats are written and answered by then. */
    marginMs: number
    /** CPU is measured over this window, a whole number of intervals, and reported per 10 s. */
    windowMs: number
    /**
     * Whole rounds let pass before the window. The first round after the broadcast is not steady
     * state for zerostate: its peers have been silent for an interval, so each session is probed
     * (heartbeatMissed and back, two transitions) instead of sent a plain heartbeat.
     */
    skipRounds: number
  }
  broadcastPayloadSize: number
  storm: { saturate: LoadShape; leadMs: number; count: number; payloadSize: number; timeoutMs: number }
  /** The WebSocket scenarios (measure-websocket.ts): zerostate, the ws ceiling and Colyseus. */
  webSocket: WebSocketConfig
}

export interface WebSocketConfig {
  /** Sessions opened and closed on a fresh server before its idle-memory baseline, as in the TCP prelude. */
  warmUpSessions: number
  throughput: { shape: LoadShape; window: Window }
  latency: { connections: number; payloadSize: number; window: Window }
  /** Sessions open, each echoed once, when RSS per idle session is measured. */
  idleSessions: number
  /** Sessions opened after the idle pool has closed, timed from the first connect to the last first echo: the connect rate. */
  connectSessions: number
  /** Sessions awaiting their first echo at once while they open. */
  openConcurrency: number
}

/** A generator above this share of its core limited the figure: the row is marked and its ratio not quoted. */
export const GENERATOR_SATURATED = 0.9

const THROUGHPUT: LoadShape = { connections: 100, inFlight: 16, payloadSize: 64 }
/** The issue fixes the payload; 4 frames in flight per connection keeps bulk bandwidth-bound, not latency-bound. */
const BULK: LoadShape = { connections: 10, inFlight: 4, payloadSize: 64 * 1024 }

export const REPORT_HEARTBEAT_PER_MS = 10_000

export function benchConfig(mode: BenchMode, fiftyK: boolean): BenchConfig {
  if (mode === 'smoke') return smokeConfig()
  const quick = mode === 'quick'
  return {
    mode,
    runs: 3,
    warmUpSessions: 2_000,
    throughput: { shape: THROUGHPUT, window: quick ? { warmupMs: 300, durationMs: 1_000 } : { warmupMs: 1_000, durationMs: 10_000 } },
    latency: { connections: 1_000, payloadSize: 64, window: quick ? { warmupMs: 300, durationMs: 1_000 } : { warmupMs: 500, durationMs: 3_000 } },
    bulk: { shape: BULK, window: quick ? { warmupMs: 300, durationMs: 1_000 } : { warmupMs: 500, durationMs: 3_000 } },
    idleSessions: fiftyK && !quick ? [10_000, 50_000] : [10_000],
    openConcurrency: 256,
    connectSessions: 5_000,
    // One round in the quick window, two in the full one (see heartbeatWindowStart in measure-server.ts).
    // The full run measures steady state; the quick one cannot spare the interval and holds the
    // probe round, which overstates zerostate's cost (the table says so).
    heartbeat: { intervalMs: 5_000, sweepMs: 1_250, marginMs: 500, windowMs: quick ? 5_000 : 10_000, skipRounds: quick ? 0 : 1 },
    broadcastPayloadSize: 64,
    // A connection with no echo by the timeout counts as the timeout: the p99 then reads as a floor.
    storm: { saturate: THROUGHPUT, leadMs: quick ? 300 : 500, count: 1_000, payloadSize: 64, timeoutMs: quick ? 5_000 : 10_000 },
    // The issue's WebSocket shapes; the TCP scenarios' windows.
    webSocket: {
      warmUpSessions: 2_000,
      throughput: { shape: THROUGHPUT, window: quick ? { warmupMs: 300, durationMs: 1_000 } : { warmupMs: 1_000, durationMs: 10_000 } },
      latency: { connections: 1_000, payloadSize: 64, window: quick ? { warmupMs: 300, durationMs: 1_000 } : { warmupMs: 500, durationMs: 3_000 } },
      idleSessions: 10_000,
      connectSessions: 2_000,
      openConcurrency: 256,
    },
  }
}

/**
 * `--smoke`, for `npm test` (test/bench.smoke.test.ts): every scenario on the quick run's code paths
 * (server and generator children, RPC, both servers, medians, table, JSON line), at sizes that
 * prove the harness works in ~20 s and measure nothing. Only the heartbeat window cannot shrink: it
 * is the quick run's, one whole interval of the servers' default 5 s holding one round, so that the
 * heartbeats-per-session check still means something.
 */
function smokeConfig(): BenchConfig {
  const window: Window = { warmupMs: 100, durationMs: 300 }
  const throughput: LoadShape = { connections: 8, inFlight: 4, payloadSize: 64 }
  return {
    mode: 'smoke',
    runs: 1,
    warmUpSessions: 200,
    throughput: { shape: throughput, window },
    latency: { connections: 16, payloadSize: 64, window },
    bulk: { shape: { connections: 2, inFlight: 2, payloadSize: BULK.payloadSize }, window },
    idleSessions: [300],
    // Below connectSessions, so that opening still queues sessions behind the ones awaiting an echo.
    openConcurrency: 64,
    connectSessions: 200,
    // The quick run's: one round in one interval, the first after the broadcast.
    heartbeat: { ...benchConfig('quick', false).heartbeat },
    broadcastPayloadSize: 64,
    storm: { saturate: throughput, leadMs: 100, count: 50, payloadSize: 64, timeoutMs: 5_000 },
    webSocket: {
      warmUpSessions: 50,
      throughput: { shape: throughput, window },
      latency: { connections: 16, payloadSize: 64, window },
      idleSessions: 200,
      // Above openConcurrency, as in the TCP smoke shapes.
      connectSessions: 100,
      openConcurrency: 32,
    },
  }
}
