/**
 * Reconnection in play over TCP, with no browser: the arena server with `resume` on, two bots
 * (examples/arena/bot.ts, which connect with `resume: true`), and a TCP proxy
 * (test/helpers/cutProxy.ts) in front of one of them. What the other bot's client receives is
 * what every player's screen shows: the room's seats (RoomState) and the server's connection
 * states (Connections). The inspection stream goes to a JSONL file, as `npm run demo --
 * --inspect-file` writes it, and its timeline tells the drop too.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import type { ArenaMessage } from '../../examples/arena/arenaMessages.js'
import { type ArenaServer, startArena } from '../../examples/arena/arenaServer.js'
import { type Bot, startBot } from '../../examples/arena/bot.js'
import { ConnectionState, Phase, SeatState } from '../../examples/arena/gen/arena_pb.js'
import { openFileInspector } from '../../src/index.js'
import { formatTimeline } from '../../src/inspect/timeline.js'
import { CutProxy } from '../helpers/cutProxy.js'
import { waitFor } from '../helpers/wait.js'

/** Five steps a second on a 24 x 24 arena: a bot riding straight, unsteered, lasts three seconds at least. */
const SETTINGS = { width: 24, height: 24, ticksPerStep: 4, countdownTicks: 2, gameOverTicks: 2 }

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function record(history: string[], state: string): void {
  if (history.at(-1) !== state) history.push(state)
}

/** What one player is told: each player's seat by name, and each player's connection by name. */
class Screen {
  phase = Phase.UNSPECIFIED
  readonly seats = new Map<string, { id: string; slot: number; seat: SeatState }>()
  readonly connections = new Map<string, ConnectionState>()
  /** Each seat state of `name` in the order told, repeats left out; `gone` once it has left. */
  readonly seatHistory: string[] = []
  /** Each connection state of `name` in the order told, repeats left out. */
  readonly connectionHistory: string[] = []
  private readonly names = new Map<string, string>()

  constructor(private readonly name: string) {}

  /** Takes in one message the player received (BotOptions.onMessage). */
  readonly see = (message: ArenaMessage): void => {
    if (message.$typeName === 'zerostate.arena.v1.RoomState') {
      this.phase = message.phase
      this.seats.clear()
      for (const player of message.players) {
        this.names.set(player.id, player.name)
        this.seats.set(player.name, { id: player.id, slot: player.slot, seat: player.seat })
      }
      const seat = this.seats.get(this.name)?.seat
      if (seat !== undefined) record(this.seatHistory, SeatState[seat])
      else if (this.seatHistory.length > 0) record(this.seatHistory, 'gone')
    } else if (message.$typeName === 'zerostate.arena.v1.Connections') {
      for (const connection of message.connections) {
        const named = this.names.get(connection.id)
        if (named !== undefined) this.connections.set(named, connection.state)
      }
      const state = this.connections.get(this.name)
      if (state !== undefined) record(this.connectionHistory, ConnectionState[state])
    }
  }

  get history(): string {
    return `seat: ${this.seatHistory.join(', ')}; connection: ${this.connectionHistory.join(', ')}`
  }

  seat(): SeatState | undefined {
    return this.seats.get(this.name)?.seat
  }
}

interface Arena {
  arena: ArenaServer
  proxy: CutProxy
  a: Bot
  b: Bot
  screen: Screen
  /** `zerostate timeline` of the inspection so far. */
  timeline(): Promise<string>
}

async function arenaWith(grace: number): Promise<Arena> {
  const dir = await mkdtemp(join(tmpdir(), 'zerostate-arena-resume-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const file = await openFileInspector(join(dir, 'arena.jsonl'))
  cleanups.push(() => file.close())
  // The server's sweep, which ends a grace, runs at a fraction of the heartbeat interval: a short one ends it on time.
  const arena = await startArena({ tcpPort: 0, webPort: 0, pageDir: dir, heartbeat: { interval: 500, timeout: 5_000 }, resume: { grace }, settings: SETTINGS, inspect: file.inspect })
  cleanups.push(() => arena.stop())
  const proxy = await CutProxy.open(arena.address.port)
  cleanups.push(() => proxy.close())
  // b, whose screen we read, first; a comes through the proxy.
  const screen = new Screen('a')
  const b = await startBot({ port: arena.address.port, name: 'b', heartbeatInterval: 250, onMessage: screen.see })
  cleanups.push(() => b.close())
  const a = await startBot({ port: proxy.port, name: 'a', heartbeatInterval: 250 })
  cleanups.push(() => a.close())
  await waitFor(() => screen.phase === Phase.PLAYING && screen.connections.get('a') === ConnectionState.ACTIVE, { timeout: 5_000, message: () => screen.history })
  // The file stream writes as it goes: what was written by now is in the file once a turn of I/O has passed.
  const timeline = async () => {
    await new Promise((resolve) => setImmediate(resolve))
    return formatTimeline(await readFile(join(dir, 'arena.jsonl'), 'utf8'))
  }
  return { arena, proxy, a, b, screen, timeline }
}

it('a bot whose connection is cut mid-round resumes into the same seat, riding, as every player sees', async () => {
  const { proxy, a, screen, timeline } = await arenaWith(15_000)
  const seated = screen.seats.get('a')!
  expect(seated.seat).toBe(SeatState.PLAYING)
  proxy.blocking = true
  proxy.cut()
  await waitFor(() => a.client.status === 'dropped', { message: 'a is not dropped' })
  await waitFor(() => screen.seat() === SeatState.DROPPED && screen.connections.get('a') === ConnectionState.DETACHED, {
    message: () => screen.history,
  })
  proxy.blocking = false
  await waitFor(() => a.client.status === 'open', { timeout: 5_000, message: 'a did not resume' })
  await waitFor(() => screen.seat() === SeatState.PLAYING && screen.connections.get('a') === ConnectionState.ACTIVE, {
    message: () => screen.history,
  })
  expect(screen.seats.get('a')).toEqual(seated)
  expect(screen.phase).toBe(Phase.PLAYING)
  expect(screen.seatHistory).toEqual(['JOINED', 'READY', 'PLAYING', 'DROPPED', 'PLAYING'])
  expect(screen.connectionHistory).toEqual(['ACTIVE', 'DETACHED', 'ACTIVE'])
  expect(proxy.connections).toBe(2)

  // The timeline tells it: a's session detached by the reset and active again, the room's drop and resume.
  const id = seated.id
  const sections = (await timeline()).split(/\n(?=\S)/)
  const session = sections.find((section) => section.startsWith(`session ${id}`))!
  expect(session.split('\n').map((line) => line.trim().replace(/^\+\d+ ms {2}/, ''))).toEqual(expect.arrayContaining(['active', 'detached (reset)']))
  expect(session.trimEnd().split('\n').at(-1)).toMatch(/ {2}active$/)
  const room = sections.find((section) => section.startsWith('room arena:'))!.split('\n').map((line) => line.trim().replace(/^\+\d+ ms {2}/, ''))
  expect(room.indexOf(`resumed ${id}`)).toBeGreaterThan(room.indexOf(`dropped ${id}`))
  expect(room.indexOf(`dropped ${id}`)).toBeGreaterThan(room.indexOf('playing'))
})

it('a bot that does not come back within the grace leaves its seat, and its late resume is refused', async () => {
  const { proxy, a, screen } = await arenaWith(300)
  proxy.blocking = true
  proxy.cut()
  await waitFor(() => screen.seat() === SeatState.DROPPED, { message: () => screen.history })
  // After the grace the room hears player.left: the seat is gone, and with two riders the round is b's.
  await waitFor(() => screen.seat() === undefined, { timeout: 3_000, message: () => screen.history })
  expect([Phase.GAME_OVER, Phase.LOBBY]).toContain(screen.phase)
  proxy.blocking = false
  expect(await a.client.closed).toBe('resume-refused')
  expect(screen.seatHistory.slice(-2)).toEqual(['DROPPED', 'gone'])
  expect(screen.connectionHistory.slice(-2)).toEqual(['ACTIVE', 'DETACHED'])
})
