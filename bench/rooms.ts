/**
 * Rooms against the same game on plain handlers, in one run (the rooms section of `npm run bench`,
 * alone with `npm run bench -- --only=rooms`): 100 rooms x
 * 4 players at 20 ticks/s, each tick broadcasting one 64-byte state frame, and one room of 1,000
 * players at 20 Hz. Per scenario and mode: server CPU per room-tick, the p50/p99 from the tick to
 * the client's read (the frame carries its tick's epoch time), and the load generator's CPU, so a
 * saturated generator is seen. The server child runs on core 0, the players (this process) on
 * core 1. Goal: rooms cost at most 1.3x the plain version's CPU.
 *
 * Flags when run alone: --smoke (tiny sizes, one round: checks the harness), --quick (one round),
 * --json (one JSON line).
 */
import { epochNow, sleep } from './clock.js'
import { type Placement, placeProcesses, spawnBenchChild } from './children.js'
import { RpcClient } from './rpc.js'
import type { RoomsCalls } from './roomsMessages.js'
import { pathToFileURL } from 'node:url'
import { connect, type Client } from '../src/client.js'

const TICK_RATE = 20
const scenariosFor = (smoke: boolean) =>
  smoke
  ? [
      { name: '10 rooms x 4 players', rooms: 10, players: 4 },
      { name: '1 room x 50 players', rooms: 1, players: 50 },
    ]
  : [
      { name: '100 rooms x 4 players', rooms: 100, players: 4 },
      { name: '1 room x 1000 players', rooms: 1, players: 1000 },
    ]
const MODES = ['rooms', 'plain'] as const

export interface RoomsRound {
  cpuPerRoomTickUs: number
  p50: number
  p99: number
  generatorCpu: number
  received: number
}

interface Timing {
  warmupMs: number
  windowMs: number
}

async function round(mode: (typeof MODES)[number], rooms: number, players: number, serverCpu: number | null, timing: Timing): Promise<RoomsRound> {
  process.env.ROOMS_MODE = mode
  process.env.ROOMS_PLAYERS = String(players)
  const child = spawnBenchChild('rooms-server.ts', serverCpu)
  const rpc = new RpcClient<RoomsCalls>(child, `rooms server (${mode})`)
  const clients: Client[] = []
  try {
    const port = await rpc.call('listen', undefined)
    let recording = false
    const latencies: number[] = []
    for (let i = 0; i < rooms * players; i++) {
      const client = await connect({ port, heartbeatInterval: 0 })
      client.onMessage((message) => {
        if (!recording || message.id !== 10) return
        latencies.push(epochNow() - new DataView(message.data.buffer, message.data.byteOffset, 8).getFloat64(0, true))
      })
      client.send({ id: 1, data: new Uint8Array(0) })
      clients.push(client)
    }
    await sleep(timing.warmupMs)
    const before = await rpc.call('cpu', undefined)
    const generatorBefore = process.cpuUsage()
    const startedAt = performance.now()
    recording = true
    await sleep(timing.windowMs)
    recording = false
    const elapsed = performance.now() - startedAt
    const after = await rpc.call('cpu', undefined)
    const generator = process.cpuUsage(generatorBefore)
    const roomTicks = after.rooms * TICK_RATE * (elapsed / 1000)
    latencies.sort((a, b) => a - b)
    return {
      cpuPerRoomTickUs: ((after.cpuMs - before.cpuMs) * 1000) / roomTicks,
      p50: latencies[Math.floor(latencies.length * 0.5)] ?? Number.NaN,
      p99: latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN,
      generatorCpu: (generator.user + generator.system) / 1000 / elapsed,
      received: latencies.length,
    }
  } finally {
    for (const client of clients) client.reset()
    await rpc.call('stop', undefined).catch(() => {})
    child.kill()
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

export interface RoomsReport {
  placement: string
  rounds: number
  windowMs: number
  results: Record<string, Record<string, RoomsRound>>
}

/** Runs every scenario in both modes, alternating, and keeps each figure's median. */
export async function runRoomsBench(mode: 'smoke' | 'quick' | 'full', placement: Placement): Promise<RoomsReport> {
  const smoke = mode === 'smoke'
  const rounds = mode === 'full' ? 3 : 1
  const timing = { warmupMs: smoke ? 300 : 2_000, windowMs: smoke ? 1_000 : 5_000 }
  const results: RoomsReport['results'] = {}
  for (const scenario of scenariosFor(smoke)) {
    const runs: Record<string, RoomsRound[]> = { rooms: [], plain: [] }
    // Modes alternate, so a slow stretch of the machine hits both.
    for (let i = 0; i < rounds; i++) for (const kind of MODES) runs[kind]!.push(await round(kind, scenario.rooms, scenario.players, placement.serverCpu, timing))
    results[scenario.name] = Object.fromEntries(
      MODES.map((kind) => {
        const list = runs[kind]!
        const pick = (key: keyof RoomsRound) => median(list.map((entry) => entry[key]))
        return [kind, { cpuPerRoomTickUs: pick('cpuPerRoomTickUs'), p50: pick('p50'), p99: pick('p99'), generatorCpu: pick('generatorCpu'), received: pick('received') }]
      }),
    )
  }
  return { placement: placement.description, rounds, windowMs: timing.windowMs, results }
}

/** The report as a table, with the goal's verdict per scenario; a saturated generator is marked. */
export function roomsTable(report: RoomsReport): string {
  const lines = [`rooms: medians of ${report.rounds}, ${report.windowMs} ms windows`, '']
  lines.push(`${'scenario'.padEnd(26)}${'mode'.padEnd(7)}${'CPU/room-tick µs'.padStart(17)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'generator CPU'.padStart(15)}`)
  for (const [name, modes] of Object.entries(report.results)) {
    for (const mode of MODES) {
      const r = modes[mode]!
      const saturated = r.generatorCpu > 0.9 ? ' SATURATED' : ''
      lines.push(`${name.padEnd(26)}${mode.padEnd(7)}${r.cpuPerRoomTickUs.toFixed(1).padStart(17)}${r.p50.toFixed(2).padStart(9)}${r.p99.toFixed(2).padStart(9)}${`${(r.generatorCpu * 100).toFixed(0)}%`.padStart(15)}${saturated}`)
    }
    const ratio = modes.rooms!.cpuPerRoomTickUs / modes.plain!.cpuPerRoomTickUs
    lines.push(`${''.padEnd(26)}rooms / plain CPU ${ratio.toFixed(2)}  (goal <= 1.3: ${ratio <= 1.3 ? 'met' : 'MISSED'})`)
  }
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const placement = placeProcesses()
  const report = await runRoomsBench(process.argv.includes('--smoke') ? 'smoke' : process.argv.includes('--quick') ? 'quick' : 'full', placement)
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(report)}\n` : `${placement.description}\n${roomsTable(report)}\n`)
  process.exit(0)
}
