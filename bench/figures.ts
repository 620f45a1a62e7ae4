/** Every figure one run of one server yields; NaN where it was not measured or its phase failed. */
export const FIGURES = [
  'throughput',
  'latencyP50',
  'latencyP99',
  'latencyP999',
  'bulk',
  /** At the first idle checkpoint: 10,000 sessions, but in a smoke run (the name is the one results files hold). */
  'bytesPerIdleSession10k',
  'bytesPerIdleSession50k',
  'connectRate',
  'heartbeatCpuMs',
  'heartbeatsPerSession',
  'broadcastMs',
  'stormP99',
  'stormIncomplete',
  /** The generator's share of its core while the figure was measured (1 = a whole core): near 1, the figure measures the generator. */
  'throughputGeneratorCpu',
  'latencyGeneratorCpu',
  'bulkGeneratorCpu',
  'connectGeneratorCpu',
] as const

/** The TCP scenarios under load, each with its generator's CPU. */
export const TCP_LOADS = ['throughput', 'latency', 'bulk', 'connect'] as const
export type TcpLoad = (typeof TCP_LOADS)[number]

export type Figure = (typeof FIGURES)[number]
export type Figures = Record<Figure, number>

export type ServerKind = 'zerostate' | 'ceiling'

export interface RunResult {
  server: ServerKind
  run: number
  figures: Figures
  /** Phases that failed or misbehaved, for the report. */
  problems: string[]
}

export function emptyFigures(): Figures {
  return Object.fromEntries(FIGURES.map((figure) => [figure, Number.NaN])) as Figures
}

/** The WebSocket scenarios' servers: zerostate, the ws echo ceiling (ws-ceiling.ts), Colyseus 0.18. */
export const WS_SERVERS = ['zerostate', 'ceiling', 'colyseus'] as const
export type WsServerKind = (typeof WS_SERVERS)[number]

/** The WebSocket scenarios whose figure is a rate or a time under load: each has both sides' CPU. */
export const WS_LOADS = ['throughput', 'latency', 'connect'] as const
export type WsLoad = (typeof WS_LOADS)[number]

/**
 * Every figure one WebSocket run of one server yields; NaN where not measured. `...GeneratorCpu`
 * and `...ServerCpu`: each side's share of its core while that figure was measured (1 = a whole
 * core); a generator near 1 limited the figure, which then measures the generator.
 */
export const WS_FIGURES = [
  'throughput',
  'throughputGeneratorCpu',
  'throughputServerCpu',
  'latencyP50',
  'latencyP99',
  'latencyGeneratorCpu',
  'latencyServerCpu',
  /** At `webSocket.idleSessions` (10,000 but in a smoke run). */
  'bytesPerIdleSession',
  'connectRate',
  'connectGeneratorCpu',
  'connectServerCpu',
] as const

export type WsFigure = (typeof WS_FIGURES)[number]
export type WsFigures = Record<WsFigure, number>

export interface WsRunResult {
  server: WsServerKind
  run: number
  figures: WsFigures
  problems: string[]
}

export function emptyWsFigures(): WsFigures {
  return Object.fromEntries(WS_FIGURES.map((figure) => [figure, Number.NaN])) as WsFigures
}
