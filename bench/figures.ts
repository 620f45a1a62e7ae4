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
] as const

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
