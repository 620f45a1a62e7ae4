/**
 * `npm run bench`, small: the bench's smoke run (`bench/run.ts --smoke --json`) end to end, so a
 * change that breaks the harness fails `npm test` instead of the next long run. Both TCP servers,
 * the three WebSocket ones (zerostate, the ws ceiling, Colyseus) and both generators run in child
 * processes through every scenario, then the rooms and cluster groups (the latter on NATS); the
 * orchestrator takes medians, prints the tables, the WebSocket JSON line and issue 3's JSON line.
 * At that size, and on a machine busy with other tests, the figures mean nothing: what is checked
 * is that the harness works (exit 0, no problems, the JSON line's shape and arithmetic, one
 * heartbeat round per idle session on both servers) and leaves no process behind. No figure is
 * held to a time.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { connect as connectSocket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { benchConfig, REPORT_HEARTBEAT_PER_MS } from '../bench/config.js'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
/** A smoke run takes ~30 s on a quiet 2-core machine (TCP ~20 s, WebSocket ~10 s); past this the whole process group is killed. */
const KILL_AFTER_MS = 100_000
const TEST_TIMEOUT_MS = 110_000

/** Issue 3's JSON line: every key, in order, and nothing else; each leaf a number. */
const SHAPE = {
  throughput: { zerostate: 'number', ceiling: 'number', ratio: 'number' },
  latencyP99: { zerostate: 'number', ceiling: 'number', ratio: 'number' },
  bulk: { zerostate: 'number', ceiling: 'number', ratio: 'number' },
  bytesPerIdleSession: { zerostate: 'number', ceiling: 'number' },
  connectRate: { zerostate: 'number', ceiling: 'number', ratio: 'number' },
  heartbeatCpuMs: { zerostate: 'number' },
  broadcastMs: { zerostate: 'number' },
  stormFirstEchoP99Ms: { zerostate: 'number', ceiling: 'number' },
}

/** Decimal digits each figure with a ratio is rounded to in the JSON line (`summaryJson` in bench/report.ts). */
const DIGITS = { throughput: 0, latencyP99: 3, bulk: 1, connectRate: 0 } as const

type Summary = Record<string, Record<string, number>>

/** The WebSocket table's rows, by the start of their labels (bench/report.ts, wsRows). */
const WS_ROWS = ['throughput, msg/s', 'latency p50, ms', 'latency p99, ms', 'RSS per idle session', 'connect rate, sessions/s'] as const
/** The WebSocket JSON line's figures, in order, and the servers each one has. */
const WS_FIGURES = ['throughput', 'latencyP50', 'latencyP99', 'bytesPerIdleSession', 'connectRate'] as const
const WS_SERVERS = ['zerostate', 'ceiling', 'colyseus'] as const

type WsSummary = { webSocket: Record<(typeof WS_FIGURES)[number], Record<string, number | null>> & { cpu: Record<string, Record<string, { generator: number; server: number; generatorSaturated: boolean }>> } }

interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
}

let bench: ChildProcess | null = null

/** The NATS the cluster section needs (CI starts one): without it the section is skipped, and says so. */
function natsReachable(): Promise<boolean> {
  const url = new URL(process.env.NATS_URL ?? 'nats://127.0.0.1:4222')
  return new Promise((resolve) => {
    const socket = connectSocket({ host: url.hostname, port: Number(url.port || 4222) })
    socket.setTimeout(2_000, () => socket.destroy())
    socket.on('error', () => {}) // then 'close'
    socket.once('close', () => resolve(false))
    socket.once('connect', () => {
      resolve(true)
      socket.destroy()
    })
  })
}

/** Kills the bench's whole process group (orchestrator, servers, generators); false if none was left. */
function killGroup(pid: number): boolean {
  try {
    process.kill(-pid, 'SIGKILL')
    return true
  } catch {
    return false // ESRCH: no process left in the group
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

/** Runs the smoke bench in a process group of its own, so that every child it starts can be found and killed. */
function runSmoke(): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--json'], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    bench = child
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      if (child.pid !== undefined) killGroup(child.pid)
    }, KILL_AFTER_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut })
    })
  })
}

/** The leaves' types, keeping every key in its order. */
function shapeOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value === null ? 'null' : typeof value
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shapeOf(inner)]))
}

afterAll(() => {
  if (bench?.pid !== undefined) killGroup(bench.pid)
})

it.runIf(process.platform === 'linux')(
  'the smoke bench runs both TCP servers and the three WebSocket ones through every scenario and prints both JSON lines, with no problems',
  async () => {
    const run = await runSmoke()
    const output = `--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`
    expect(run.timedOut, `killed after ${KILL_AFTER_MS} ms\n${output}`).toBe(false)
    expect(run.code, output).toBe(0)

    // Every child ended with the orchestrator. A process that lingers (a server or generator the
    // harness failed to end) fails the test, then is killed with the rest of the group.
    const pid = bench!.pid!
    const deadline = performance.now() + 5_000
    while (groupAlive(pid) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(killGroup(pid), 'processes of the bench still running after it exited').toBe(false)

    // run.ts lists each failed or misbehaving phase under "problems:" (and exits 1); a phase that
    // failed is logged with FAILED.
    expect(run.stdout, output).not.toMatch(/^problems:/m)
    expect(run.stderr, output).not.toMatch(/FAILED|^error:|^bench failed/m)
    expect(run.stdout).toContain('zerostate bench, smoke run: 1 run per server')
    // The rooms section: both scenarios, rooms and plain handlers each, and the goal's verdict.
    const roomsSection = run.stdout.slice(run.stdout.indexOf('rooms: medians of'))
    expect(roomsSection.match(/^\S.* (rooms|plain) +\d+\.\d/gm), roomsSection).toHaveLength(4)
    expect(roomsSection.match(/rooms \/ plain CPU \d+\.\d\d/g)).toHaveLength(2)
    // The cluster section (bench/cluster.ts): with NATS, its eight rows each with a figure and six
    // CPU cells, and its three goals' verdicts; without NATS, one line saying it was skipped and why.
    if (await natsReachable()) {
      const clusterSection = run.stdout.slice(run.stdout.indexOf('cluster (issue 16)'))
      expect(run.stdout, output).toContain('cluster (issue 16), smoke run')
      expect(clusterSection.match(/^(unicast|broadcast|local echo).* (ms|msg\/s)( \(gen!\))?( +(\d+%|-)){6}/gm), clusterSection).toHaveLength(8)
      expect(clusterSection.match(/goal .* (met|MISSED|\?)( \(disturbed\))?$/gm), clusterSection).toHaveLength(3)
    } else {
      expect(run.stdout, output).toMatch(/^cluster: skipped: NATS at \S+ is not reachable/m)
    }

    const lines = run.stdout.trimEnd().split('\n')
    const summary = JSON.parse(lines.at(-1)!) as Summary
    expect(shapeOf(summary)).toStrictEqual(SHAPE)
    expect(JSON.stringify(shapeOf(summary))).toBe(JSON.stringify(SHAPE)) // and in issue 3's order
    for (const [figure, values] of Object.entries(summary)) {
      for (const [key, value] of Object.entries(values)) expect(Number.isFinite(value), `${figure}.${key} = ${value}`).toBe(true)
    }

    for (const figure of ['throughput', 'bulk', 'connectRate', 'latencyP99'] as const) {
      expect(summary[figure]!.zerostate, figure).toBeGreaterThan(0)
      expect(summary[figure]!.ceiling, figure).toBeGreaterThan(0)
    }
    expect(summary.broadcastMs!.zerostate).toBeGreaterThan(0)

    // The ratio is zerostate / ceiling from the unrounded medians, rounded to 3 digits; the two
    // figures beside it are rounded to DIGITS. So it matches their quotient to within both roundings.
    for (const [figure, digits] of Object.entries(DIGITS)) {
      const { zerostate, ceiling, ratio } = summary[figure]!
      const half = 0.5 * 10 ** -digits
      const slack = 0.0005 + (half / (ceiling! - half)) * (1 + (zerostate! + half) / (ceiling! - half)) + 1e-9
      expect(Math.abs(ratio! - zerostate! / ceiling!), `${figure}: ratio ${ratio} vs ${zerostate} / ${ceiling}`).toBeLessThanOrEqual(slack)
    }

    // The heartbeat window holds exactly one round for each idle session, on both servers: the
    // table shows it per 10 s.
    const { intervalMs } = benchConfig('smoke', false).heartbeat
    const expected = (REPORT_HEARTBEAT_PER_MS / intervalMs).toFixed(2)
    const row = /^ *heartbeats per idle session per 10 s +(\S+) +(\S+) +(\S+)$/m.exec(run.stdout)
    expect(row, `no heartbeats row in the table\n${output}`).not.toBeNull()
    expect({ zerostate: row![1], ceiling: row![2] }).toEqual({ zerostate: expected, ceiling: expected })

    // The WebSocket section: its table has every row with a figure for each of the three servers,
    // and its JSON line (the one before issue 3's) every figure, each server's value measured, the
    // two ratios beside them (null only for a saturated generator), and both CPU shares per load.
    expect(run.stdout, output).toMatch(/^WebSocket scenario +zerostate +ceiling +colyseus +vs ceiling +vs colyseus +goal$/m)
    const wsSection = run.stdout.slice(run.stdout.indexOf('WebSocket scenario')).split('\n')
    for (const label of WS_ROWS) {
      const wsRow = wsSection.find((line) => line.startsWith(label) && /\d/.test(line.slice(label.length)))
      expect(wsRow, `no WebSocket row "${label}"\n${output}`).toBeDefined()
      // Cells are set apart by two spaces or more (a label has none): the label, then a figure
      // for each server (marked `(gen!)` if its generator was saturated), then the two ratios.
      const cells = wsRow!.split(/ {2,}/)
      // A number, marked or not; at smoke size an RSS growth can come out below zero (a GC's noise).
      for (const cell of cells.slice(1, 4)) expect(cell, `${label}: ${wsRow}`).toMatch(/^-?[\d,.]+( \(gen!\))?$/)
      for (const cell of cells.slice(4, 6)) expect(cell, `${label}: ${wsRow}`).toMatch(/^(-?\d+\.\d\d|invalid)$/)
    }
    expect(run.stdout).toMatch(/^WebSocket CPU, share of a core: generator \/ server/m)
    const ws = JSON.parse(lines.at(-2)!) as WsSummary
    expect(Object.keys(ws.webSocket)).toEqual([...WS_FIGURES, 'cpu'])
    for (const figure of WS_FIGURES) {
      const entry = ws.webSocket[figure]
      expect(Object.keys(entry)).toEqual([...WS_SERVERS, 'vsCeiling', 'vsColyseus'])
      // Memory growth at smoke size is within a GC's noise and may be negative: a number is enough.
      const positive = figure !== 'bytesPerIdleSession'
      for (const server of WS_SERVERS) {
        if (positive) expect(entry[server], `webSocket.${figure}.${server}`).toBeGreaterThan(0)
        else expect(Number.isFinite(entry[server]), `webSocket.${figure}.${server}`).toBe(true)
      }
      for (const ratio of ['vsCeiling', 'vsColyseus']) {
        const value = entry[ratio]
        expect(value === null || (positive ? value! > 0 : Number.isFinite(value)), `webSocket.${figure}.${ratio} = ${value}`).toBe(true)
      }
    }
    for (const server of WS_SERVERS) {
      for (const load of ['throughput', 'latency', 'connect']) {
        const cpu = ws.webSocket.cpu[server]![load]!
        expect(cpu.generator, `${server} ${load} generator CPU`).toBeGreaterThan(0)
        expect(cpu.server, `${server} ${load} server CPU`).toBeGreaterThan(0)
        // A ratio is withheld exactly where a generator was saturated.
        if (!cpu.generatorSaturated) continue
        const figure = load === 'connect' ? 'connectRate' : load === 'latency' ? 'latencyP99' : 'throughput'
        expect(ws.webSocket[figure][server === 'colyseus' ? 'vsColyseus' : 'vsCeiling']).toBeNull()
      }
    }
  },
  TEST_TIMEOUT_MS,
)
