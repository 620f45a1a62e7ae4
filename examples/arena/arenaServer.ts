/**
 * The arena's server, on zerostate's public API: one room type (arenaRoom.ts, ticked at 20 Hz),
 * every session seated in an arena as it connects, TCP for bots and WebSocket for pages, and the
 * page's files served from the WebSocket port (`webSocket.static`). With `resume`, a player whose
 * connection is lost keeps its session and seat for the grace (detached, its seat dropped). Beside the room's own frames
 * it sends each room's players the connection state of every player (Connections): the room
 * machine stays pure and knows nothing of connections, so the server learns them from the
 * inspection stream, where every `session:<id>` actor reports each of its snapshots.
 */
import type { InspectionEvent, Observer } from 'xstate'
import { type Address, createServer, type HeartbeatOptions, type Server, type Session } from '../../src/index.js'
import { frame, isPlayerMessage } from './arenaMessages.js'
import { createArenaRoom } from './arenaRoom.js'
import { type ArenaSettings, DEFAULT_SETTINGS, MAX_PLAYERS } from './arenaRules.js'
import { ConnectionsSchema, ConnectionState } from './gen/arena_pb.js'

export interface ArenaServerOptions {
  /** @default '127.0.0.1' */
  host?: string
  /** TCP port, for bots; 0 picks a free one. */
  tcpPort: number
  /** WebSocket and HTTP port: the page's address; 0 picks a free one. */
  webPort: number
  /** The built page (buildArenaPage) to serve. */
  pageDir: string
  heartbeat?: HeartbeatOptions
  /** Lets a player whose connection is lost come back to its session and seat within `grace` ms; off when left out. */
  resume?: { grace: number }
  /** A smaller arena or shorter pauses, for tests. */
  settings?: Partial<ArenaSettings>
  /** Also sees every actor's inspection events: a Stately relay, a JSONL file. */
  inspect?: Observer<InspectionEvent>
}

export interface ArenaServer {
  readonly server: Server
  readonly address: Address & { port: number; webSocket: NonNullable<Address['webSocket']> }
  /** The page to open: `http://127.0.0.1:18800/`. */
  readonly pageUrl: string
  stop(): Promise<void>
}

/** The room type's name; matching fills arenas of up to eight. */
export const ARENA = 'arena'

const WIRE_STATES: Readonly<Record<string, ConnectionState>> = {
  handshake: ConnectionState.HANDSHAKE,
  active: ConnectionState.ACTIVE,
  heartbeatMissed: ConnectionState.HEARTBEAT_MISSED,
  detached: ConnectionState.DETACHED,
  closed: ConnectionState.CLOSED,
}

export async function startArena(options: ArenaServerOptions): Promise<ArenaServer> {
  const settings = { ...DEFAULT_SETTINGS, ...options.settings }
  const connections = new ConnectionStates()
  const inspect: Observer<InspectionEvent> = {
    next(event) {
      connections.observe(event)
      options.inspect?.next?.(event)
    },
  }
  const server = createServer({ heartbeat: options.heartbeat, inspect, ...(options.resume === undefined ? {} : { resume: options.resume }) })
  connections.server = server
  server.room(ARENA, { machine: createArenaRoom(settings), maxPlayers: MAX_PLAYERS, tickRate: settings.tickRate, accepts: isPlayerMessage })
  server.onConnect((session) => {
    connections.opened(session)
    server.rooms.joinOrCreate(session, ARENA)
  })
  server.onDisconnect((session) => connections.closed(session))
  const address = await server.listen({
    host: options.host ?? '127.0.0.1',
    port: options.tcpPort,
    webSocket: { port: options.webPort, static: options.pageDir },
  })
  const { host, port } = address.webSocket
  return {
    server,
    address,
    pageUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    stop: () => server.stop(),
  }
}

/**
 * Every session's connection state, from its actor's snapshots; when one changes, each arena
 * gets one Connections frame for its players, once per turn however many changed.
 */
class ConnectionStates {
  server: Server | null = null
  private readonly states = new Map<string, ConnectionState>()
  private scheduled = false

  opened(session: Session): void {
    this.set(session.id, session.state)
  }

  closed(session: Session): void {
    if (this.states.delete(session.id)) this.schedule()
  }

  observe(event: InspectionEvent): void {
    if (event.type !== '@xstate.snapshot') return
    const id = (event.actorRef as { id?: string }).id
    if (id === undefined || !id.startsWith('session:')) return
    const value = (event.snapshot as { value?: unknown }).value
    const state = typeof value === 'string' ? value : typeof value === 'object' && value !== null ? Object.keys(value)[0] : undefined
    const sessionId = id.slice('session:'.length)
    // A session seen before it is opened (its first snapshot) or after it closed is not a player.
    if (state !== undefined && this.states.has(sessionId)) this.set(sessionId, state)
  }

  private set(sessionId: string, state: string): void {
    const wire = WIRE_STATES[state] ?? ConnectionState.UNSPECIFIED
    if (this.states.get(sessionId) === wire) return
    this.states.set(sessionId, wire)
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.send()
    })
  }

  private send(): void {
    const server = this.server
    if (server === null || server.state !== 'listening') return
    for (const room of server.rooms.list(ARENA)) {
      const message = frame(ConnectionsSchema, {
        connections: room.players.map((id) => ({ id, state: this.states.get(id) ?? ConnectionState.UNSPECIFIED })),
      })
      for (const id of room.players) server.unicast(id, message)
    }
  }
}
