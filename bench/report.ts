import type { BenchConfig } from './config.js'
import type { Figure, Figures, RunResult, ServerKind } from './figures.js'
import { FIGURES } from './figures.js'
import { median } from './stats.js'

export type Medians = Record<ServerKind, Figures>

interface Row {
  figure: Figure
  label: string
  digits: number
  /** Issue 3's goal for this figure, checked against the medians. */
  goal?: { text: string; of: 'ratio' | 'zerostate'; met(value: number): boolean }
}

/** A row computed from two figures' medians (zerostate's minus the ceiling's); one value, no ratio. */
interface DifferenceRow {
  difference: Figure
  label: string
  digits: number
  goal: { text: string; met(value: number): boolean }
}

/** A session count as the row labels show it: 10k, 50k; 300. */
function count(n: number): string {
  return n % 1_000 === 0 ? `${n / 1_000}k` : String(n)
}

/** The table's rows; labels give the scenario shapes of `config`'s mode. */
function rows(config: BenchConfig): (Row | DifferenceRow)[] {
  const { throughput, latency, bulk, storm } = config
  const idle = count(config.idleSessions[0]!)
  return [
    {
      figure: 'throughput',
      label: `throughput, msg/s (${throughput.shape.connections} conn x ${throughput.shape.inFlight} in flight, ${throughput.shape.payloadSize} B)`,
      digits: 0,
      goal: { text: 'ratio >= 0.7', of: 'ratio', met: (r) => r >= 0.7 },
    },
    { figure: 'latencyP50', label: `latency p50, ms (${latency.connections} conn x 1 in flight)`, digits: 2 },
    { figure: 'latencyP99', label: 'latency p99, ms', digits: 2, goal: { text: 'ratio <= 1.5', of: 'ratio', met: (r) => r <= 1.5 } },
    { figure: 'latencyP999', label: 'latency p99.9, ms', digits: 2 },
    {
      figure: 'bulk',
      label: `bulk, MB/s echoed (${bulk.shape.connections} conn x ${bulk.shape.inFlight} x ${bulk.shape.payloadSize / 1024} KiB)`,
      digits: 1,
      goal: { text: 'ratio >= 0.8', of: 'ratio', met: (r) => r >= 0.8 },
    },
    { figure: 'bytesPerIdleSession10k', label: `RSS per idle session @${idle}, bytes`, digits: 0, goal: { text: '<= 8192 B', of: 'zerostate', met: (z) => z <= 8192 } },
    { figure: 'bytesPerIdleSession50k', label: 'RSS per idle session @50k, bytes', digits: 0 },
    { figure: 'connectRate', label: `connect rate, sessions/s (${config.connectSessions})`, digits: 0, goal: { text: '>= 5000/s', of: 'zerostate', met: (z) => z >= 5000 } },
    // Both servers send one heartbeat per idle session per interval, so the ceiling's figure is the
    // floor for the protocol's I/O (one write and one read per session per interval), already above
    // 2% of a core at 10,000 sessions. Issue 3's goal (a sweep under 2% of a core) is judged on what
    // zerostate adds to that floor.
    { figure: 'heartbeatCpuMs', label: `heartbeat CPU, ms per 10 s @${idle} idle`, digits: 1 },
    {
      difference: 'heartbeatCpuMs',
      label: '  heartbeat CPU above the ceiling (the sweep\'s own cost), ms per 10 s',
      digits: 1,
      goal: { text: '< 200 ms (2% of a core)', met: (d) => d < 200 },
    },
    { figure: 'heartbeatsPerSession', label: '  heartbeats per idle session per 10 s', digits: 2 },
    { figure: 'broadcastMs', label: `broadcast ${config.broadcastPayloadSize} B to ${idle}, ms to the last`, digits: 2 },
    { figure: 'stormP99', label: `login storm first echo p99, ms (${storm.count} new)`, digits: 1, goal: { text: '< 200 ms', of: 'zerostate', met: (z) => z < 200 } },
  ]
}

export function medians(results: RunResult[]): Medians {
  const of = (server: ServerKind): Figures => {
    const runs = results.filter((result) => result.server === server)
    return Object.fromEntries(FIGURES.map((figure) => [figure, median(runs.map((run) => run.figures[figure]))])) as Figures
  }
  return { zerostate: of('zerostate'), ceiling: of('ceiling') }
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits))
}

function show(value: number, digits: number): string {
  if (!Number.isFinite(value)) return '-'
  return digits === 0 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits)
}

/** The side-by-side table: scenario, zerostate, ceiling, ratio (zerostate / ceiling), goal. */
export function table(m: Medians, config: BenchConfig): string {
  const lines: string[][] = [['scenario', 'zerostate', 'ceiling', 'ratio', 'goal']]
  for (const row of rows(config)) {
    if ('difference' in row) {
      const d = m.zerostate[row.difference] - m.ceiling[row.difference]
      if (!Number.isFinite(d)) continue
      lines.push([row.label, show(d, row.digits), '', '', `${row.goal.text}: ${row.goal.met(d) ? 'met' : 'MISSED'}`])
      continue
    }
    const z = m.zerostate[row.figure]
    const c = m.ceiling[row.figure]
    if (!Number.isFinite(z) && !Number.isFinite(c)) continue
    const ratio = z / c
    const judged = row.goal?.of === 'ratio' ? ratio : z
    const goal = row.goal ? `${row.goal.text}: ${!Number.isFinite(judged) ? '?' : row.goal.met(judged) ? 'met' : 'MISSED'}` : ''
    lines.push([row.label, show(z, row.digits), show(c, row.digits), show(ratio, 2), goal])
  }
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)))
  return lines
    .map((line, index) => {
      const cells = line.map((cell, column) => (column === 0 || column === 4 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      const text = cells.join('  ').trimEnd()
      return index === 0 ? `${text}\n${'-'.repeat(text.length)}` : text
    })
    .join('\n')
}

/** The one-line JSON of issue 3, exactly that shape; a figure that could not be measured is null. */
export function summaryJson(m: Medians): string {
  const z = m.zerostate
  const c = m.ceiling
  const pair = (figure: Figure, digits: number) => ({ zerostate: round(z[figure], digits), ceiling: round(c[figure], digits) })
  const withRatio = (figure: Figure, digits: number) => ({ ...pair(figure, digits), ratio: round(z[figure] / c[figure], 3) })
  return JSON.stringify({
    throughput: withRatio('throughput', 0),
    latencyP99: withRatio('latencyP99', 3),
    bulk: withRatio('bulk', 1),
    bytesPerIdleSession: pair('bytesPerIdleSession10k', 0),
    connectRate: withRatio('connectRate', 0),
    heartbeatCpuMs: { zerostate: round(z.heartbeatCpuMs, 1) },
    broadcastMs: { zerostate: round(z.broadcastMs, 2) },
    stormFirstEchoP99Ms: pair('stormP99', 1),
  })
}
