/**
 * Rooms against the same game on plain handlers, in one run (`npm run bench:rooms`): 100 rooms x
 * 4 players at 20 ticks/s, each tick broadcasting one 64-byte state frame, and one room of 1,000
 * players at 20 Hz. Per scenario and mode: server CPU per room-tick, the p50/p99 from the tick to
 * the client's read (the frame carries its tick's epoch time), and the load generator's CPU, so a
 * saturated generator is seen. The server child runs on core 0, the players (this process) on
 * core 1. Goal: rooms cost at most 1.3x the plain version's CPU.
 *
 * Flags: --smoke (tiny sizes, one round: checks the harness), --json (one JSON line on stdout).
 */
import { epochNow, sleep } from './clock.js'
import { placeProcesses, spawnBenchChild } from './children.js'
import { RpcClient } from './rpc.js'
import type { RoomsCalls } from './roomsMessages.js'
import { connect, type Client } from '../src/client.js'

const smoke = process.argv.includes('--smoke')
const json = process.argv.includes('--json')
const ROUNDS = smoke ? 1 : 3
const WARMUP_MS = smoke ? 300 : 2_000
const WINDOW_MS = smoke ? 1_000 : 5_000
const TICK_RATE = 20
const SCENARIOS = smoke
  ? [
      { name: '10 rooms x 4 players', rooms: 10, players: 4 },
      { name: '1 room x 50 players', rooms: 1, players: 50 },
    ]
  : [
      { name: '100 rooms x 4 players', rooms: 100, players: 4 },
      { name: '1 room x 1000 players', rooms: 1, players: 1000 },
    ]
const MODES = ['rooms', 'plain'] as const

interface Round {
  cpuPerRoomTickUs: number
  p50: number
  p99: number
  generatorCpu: number
  received: number
}

async function round(mode: (typeof MODES)[number], rooms: number, players: number, serverCpu: number | null): Promise<Round> {
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
    await sleep(WARMUP_MS)
    const before = await rpc.call('cpu', undefined)
    const generatorBefore = process.cpuUsage()
    const startedAt = performance.now()
    recording = true
    await sleep(WINDOW_MS)
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

const placement = placeProcesses()
const results: Record<string, Record<string, Round>> = {}
for (const scenario of SCENARIOS) {
  const rounds: Record<string, Round[]> = { rooms: [], plain: [] }
  // Modes alternate, so a slow stretch of the machine hits both.
  for (let i = 0; i < ROUNDS; i++) for (const mode of MODES) rounds[mode]!.push(await round(mode, scenario.rooms, scenario.players, placement.serverCpu))
  results[scenario.name] = Object.fromEntries(
    MODES.map((mode) => {
      const list = rounds[mode]!
      const pick = (key: keyof Round) => median(list.map((entry) => entry[key]))
      return [mode, { cpuPerRoomTickUs: pick('cpuPerRoomTickUs'), p50: pick('p50'), p99: pick('p99'), generatorCpu: pick('generatorCpu'), received: pick('received') }]
    }),
  )
}

if (json) {
  process.stdout.write(`${JSON.stringify({ placement: placement.description, rounds: ROUNDS, windowMs: WINDOW_MS, results })}\n`)
} else {
  const lines = [`rooms bench: ${placement.description}; medians of ${ROUNDS}, ${WINDOW_MS} ms windows`, '']
  lines.push(`${'scenario'.padEnd(26)}${'mode'.padEnd(7)}${'CPU/room-tick µs'.padStart(17)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'generator CPU'.padStart(15)}`)
  for (const [name, modes] of Object.entries(results)) {
    for (const mode of MODES) {
      const r = modes[mode]!
      const saturated = r.generatorCpu > 0.9 ? ' SATURATED' : ''
      lines.push(`${name.padEnd(26)}${mode.padEnd(7)}${r.cpuPerRoomTickUs.toFixed(1).padStart(17)}${r.p50.toFixed(2).padStart(9)}${r.p99.toFixed(2).padStart(9)}${`${(r.generatorCpu * 100).toFixed(0)}%`.padStart(15)}${saturated}`)
    }
    const ratio = modes.rooms!.cpuPerRoomTickUs / modes.plain!.cpuPerRoomTickUs
    lines.push(`${''.padEnd(26)}rooms / plain CPU ${ratio.toFixed(2)}  (goal <= 1.3: ${ratio <= 1.3 ? 'met' : 'MISSED'})`)
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}
process.exit(0)
