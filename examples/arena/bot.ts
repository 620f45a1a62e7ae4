/**
 * A bot that plays the arena over TCP with zerostate's `connect` client (zero's wire, no
 * browser): it says Hello, is Ready whenever its seat is joined in the lobby, and at each Step
 * turns towards the free neighbour cell with the most room behind it, going straight when that
 * is as good. It connects with `resume: true`: a lost connection is dialled again and the bot
 * comes back to its seat (when the server has `resume` on). `npx tsx examples/arena/bot.ts --port 18801 --name bot` runs one on its own.
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type Client, connect } from '../../src/index.js'
import { type ArenaMessage, frame, parse } from './arenaMessages.js'
import type { Heading } from './arenaRules.js'
import { Direction, HelloSchema, Phase, ReadySchema, SeatState, TurnSchema } from './gen/arena_pb.js'

export interface BotOptions {
  /** @default '127.0.0.1' */
  host?: string
  /** The arena's TCP port. */
  port: number
  name: string
  /** The client's own heartbeat after this much silence; 0: none. @default 2_000 */
  heartbeatInterval?: number
  /** Sees every arena message the bot receives, after the bot has acted on it (a client has one message handler: this is the way in). */
  onMessage?: (message: ArenaMessage) => void
}

export interface Bot {
  readonly client: Client
  /** Rounds this bot has ridden in. */
  readonly rounds: number
  /** The phases it has seen, in order, each once per change. */
  readonly phases: readonly Phase[]
  close(): Promise<void>
}

const MOVES: readonly [Heading, Direction, number, number][] = [
  ['up', Direction.UP, 0, -1],
  ['down', Direction.DOWN, 0, 1],
  ['left', Direction.LEFT, -1, 0],
  ['right', Direction.RIGHT, 1, 0],
]
const OPPOSITE: Readonly<Record<Heading, Heading>> = { up: 'down', down: 'up', left: 'right', right: 'left' }
/** How far the bot looks for room behind a cell: enough to avoid dead ends, cheap at 10 steps a second. */
const LOOKAHEAD = 120

export async function startBot(options: BotOptions): Promise<Bot> {
  const client = await connect({ host: options.host ?? '127.0.0.1', port: options.port, heartbeatInterval: options.heartbeatInterval ?? 2_000, resume: true })
  let me = ''
  let mySlot = -1
  let width = 0
  let height = 0
  let walls = new Set<number>()
  let heading: Heading = 'right'
  let phase = Phase.UNSPECIFIED
  let rounds = 0
  const phases: Phase[] = []
  const heads = new Map<number, { x: number; y: number; alive: boolean }>()

  const free = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && !walls.has(y * width + x)
  /** Free cells reachable from (x, y), up to LOOKAHEAD. */
  const room = (x: number, y: number): number => {
    const seen = new Set([y * width + x])
    const queue = [[x, y] as const]
    while (queue.length > 0 && seen.size < LOOKAHEAD) {
      const [cx, cy] = queue.shift()!
      for (const [, , dx, dy] of MOVES) {
        const nx = cx + dx
        const ny = cy + dy
        if (free(nx, ny) && !seen.has(ny * width + nx)) {
          seen.add(ny * width + nx)
          queue.push([nx, ny])
        }
      }
    }
    return seen.size
  }
  const steer = () => {
    const head = heads.get(mySlot)
    if (head === undefined || !head.alive) return
    // Cells another cycle may move into next are as good as walls: a head-on crash puts out both.
    const contested = new Set<number>()
    for (const [slot, other] of heads) {
      if (slot === mySlot || !other.alive) continue
      for (const [, , dx, dy] of MOVES) contested.add((other.y + dy) * width + other.x + dx)
    }
    let best: { heading: Heading; direction: Direction; score: number } | null = null
    for (const [candidate, direction, dx, dy] of MOVES) {
      if (candidate === OPPOSITE[heading]) continue
      const x = head.x + dx
      const y = head.y + dy
      if (!free(x, y)) continue
      // Room is capped, so that in the open going straight wins the tie.
      const score = Math.min(room(x, y), LOOKAHEAD) - (contested.has(y * width + x) ? LOOKAHEAD : 0) + (candidate === heading ? 1 : 0)
      if (best === null || score > best.score) best = { heading: candidate, direction, score }
    }
    if (best !== null && best.heading !== heading) {
      heading = best.heading
      client.send(frame(TurnSchema, { direction: best.direction }))
    }
  }

  client.onMessage((raw) => {
    const message = parse(raw)
    switch (message?.$typeName) {
      case 'zerostate.arena.v1.Welcome':
        me = message.playerId
        width = message.width
        height = message.height
        break
      case 'zerostate.arena.v1.Board':
        walls = new Set(message.trails.flatMap((trail) => trail.cells))
        break
      case 'zerostate.arena.v1.RoomState': {
        const mine = message.players.find((player) => player.id === me)
        if (message.phase !== phase) phases.push(message.phase)
        if (message.phase === Phase.PLAYING && phase !== Phase.PLAYING) {
          walls = new Set()
          heads.clear()
          if (mine?.seat === SeatState.PLAYING) rounds++
          heading = (mine?.slot ?? 0) % 2 === 0 ? 'right' : 'left'
        }
        phase = message.phase
        mySlot = mine?.slot ?? -1
        if (phase === Phase.LOBBY && mine?.seat === SeatState.JOINED) client.send(frame(ReadySchema))
        break
      }
      case 'zerostate.arena.v1.Step':
        for (const cycle of message.cycles) {
          walls.add(cycle.y * width + cycle.x)
          heads.set(cycle.slot, { x: cycle.x, y: cycle.y, alive: cycle.alive })
        }
        steer()
        break
    }
    if (message !== null) options.onMessage?.(message)
  })
  client.send(frame(HelloSchema, { name: options.name }))
  return {
    client,
    get rounds() {
      return rounds
    },
    phases,
    close: () => client.close(),
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { host: { type: 'string' }, port: { type: 'string' }, name: { type: 'string' } } })
  const bot = await startBot({ host: values.host, port: Number(values.port ?? 18801), name: values.name ?? 'bot' })
  console.log(`bot ${values.name ?? 'bot'} playing on ${values.host ?? '127.0.0.1'}:${values.port ?? 18801}`)
  process.once('SIGTERM', () => void bot.close())
  process.once('SIGINT', () => void bot.close())
  console.log(`bot closed: ${await bot.client.closed}`)
}
