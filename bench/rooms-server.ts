/**
 * The rooms bench's server child: one game, written two ways, chosen by argv[2]:
 * - `rooms`: a room type whose machine, on each 20 Hz `room.tick`, broadcasts one 64-byte state
 *   frame to its players (the frame starts with the tick's epoch time, for the latency);
 * - `plain`: the same game on plain handlers, as a game without rooms would write it: a
 *   name-to-players map filled from onMessage and one setInterval ticking every group.
 * Players ask to join with one frame (id 1); the mode and the players per group come in
 * ROOMS_MODE and ROOMS_PLAYERS. The child answers the orchestrator's calls (listen, cpu, stop).
 */
import { emit, setup } from 'xstate'
import { broadcast, type RoomEmitted, type RoomEvent, type RoomInput } from '../machines/index.js'
import { createServer, type Session } from '../src/index.js'
import { epochNow } from './clock.js'
import { serveRpc } from './rpc.js'
import type { RoomsCalls } from './roomsMessages.js'

const mode = process.env.ROOMS_MODE === 'plain' ? 'plain' : 'rooms'
const PLAYERS = Number(process.env.ROOMS_PLAYERS ?? 4)
const TICK_RATE = 20
const STATE_ID = 10

/** The 64-byte state frame: the tick's epoch time, then the game's state (zeros here). */
function stateFrame(now: number) {
  const data = new Uint8Array(64)
  new DataView(data.buffer).setFloat64(0, now, true)
  return { id: STATE_ID, data }
}

const arena = setup({ types: { events: {} as RoomEvent, input: {} as RoomInput, emitted: {} as RoomEmitted } }).createMachine({
  on: { 'room.tick': { actions: emit(() => broadcast(stateFrame(epochNow()))) } },
})

const server = createServer({ heartbeat: { interval: 5_000, timeout: 30_000 }, handshake: false })
let timer: NodeJS.Timeout | undefined
let groupCount = () => 0

if (mode === 'rooms') {
  server.room('arena', { machine: arena, maxPlayers: PLAYERS, tickRate: TICK_RATE })
  server.onMessage((session) => void server.rooms.joinOrCreate(session, 'arena'))
  groupCount = () => server.rooms.list().length
} else {
  const groups: Session[][] = []
  server.onMessage((session) => {
    let group = groups.at(-1)
    if (group === undefined || group.length === PLAYERS) groups.push((group = []))
    group.push(session)
  })
  server.onDisconnect((session) => {
    for (const group of groups) {
      const at = group.indexOf(session)
      if (at >= 0) group.splice(at, 1)
    }
  })
  timer = setInterval(() => {
    for (const group of groups) {
      const frame = stateFrame(epochNow())
      for (const session of group) session.send(frame)
    }
  }, 1000 / TICK_RATE)
  groupCount = () => groups.length
}

serveRpc<RoomsCalls>({
  listen: async () => (await server.listen({ port: 0 })).port,
  cpu: () => {
    const usage = process.cpuUsage()
    return { cpuMs: (usage.user + usage.system) / 1000, rooms: groupCount() }
  },
  stop: async () => {
    clearInterval(timer)
    await server.stop()
  },
})
