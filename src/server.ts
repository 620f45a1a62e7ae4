import { randomBytes } from 'node:crypto'
import { type Actor, type AnyActorRef, createActor, fromPromise } from 'xstate'
import { type ConnectionMachine, connectionMachine, type VerifyInput } from '../machines/connection.js'
import { type SupervisorMachine, supervisorMachine } from '../machines/supervisor.js'
import { ConnectionFactory, connectionRegistry } from './connectionFactory.js'
import { ListenError } from './errors.js'
import { type ConnectHandler, type DisconnectHandler, type ErrorHandler, GameLoop, type MessageHandler } from './gameLoop.js'
import { HeartbeatSweep } from './heartbeatSweep.js'
import { type ResolvedOptions, resolveOptions, type ServerOptions } from './options.js'
import { encodeFrame, frameLength } from './protocol/encoder.js'
import { isMessage, type Message } from './protocol/message.js'
import { ServerSession, type SessionHost } from './serverSession.js'
import type { Session, UserId } from './session.js'
import { type Address, type ListenOptions, type ListenPlan, listenPlan, type WebSocketAddress, type WebSocketListenOptions, urlOf } from './listenOptions.js'
import type { Arrivals, Listener } from './transport/listener.js'
import { TcpListener } from './transport/tcpListener.js'
import type { Transport, TransportSink } from './transport/transport.js'
import { WebSocketListener } from './transport/webSocketListener.js'
import { type RoomCluster, type RoomDefinition, RoomRegistry, type Rooms } from './rooms/roomRegistry.js'
import { ResumeTokens } from './resume/resumeTokens.js'
import type { ClusterHost, ClusterLink, ClusterOptions } from './cluster/clusterLink.js'
import type { Tunnels } from './cluster/tunnels.js'
import type { ClusterNodeState } from '../machines/clusterNode.js'

export type ServerState = 'idle' | 'starting' | 'listening' | 'draining' | 'closing' | 'settling' | 'stopped'

/**
 * A zero-compatible session server. Create one with {@link createServer}.
 *
 * Each `on…` adds a handler and returns the function that removes it. Several handlers of one
 * kind run in the order they were added, each awaited before the next; one that throws is
 * reported to `onError` and the next still runs.
 */
export interface Server {
  /** Runs on accept, before any message of the session. */
  onConnect(handler: ConnectHandler): () => void
  /** Runs for every frame but heartbeats, one handler at a time across the whole server. */
  onMessage(handler: MessageHandler): () => void
  /** Runs once per session, after its last message; `error.code` says why it ended. */
  onDisconnect(handler: DisconnectHandler): () => void
  /** Gets what a handler threw or rejected with; the game goes on with the next event. Without one, errors go to `console.error`. */
  onError(handler: ErrorHandler): () => void
  /**
   * Starts listening: TCP on `port`, WebSocket too with `webSocket`, or WebSocket alone with
   * `port: false`. Rejects (and binds nothing) if any address cannot be taken.
   */
  listen(options: ListenOptions & { port: false }): Promise<Address & { port: null; webSocket: WebSocketAddress }>
  listen(options: ListenOptions & { port?: number; webSocket: WebSocketListenOptions | true }): Promise<Address & { port: number; webSocket: WebSocketAddress }>
  listen(options?: ListenOptions & { port?: number }): Promise<Address & { port: number }>
  /** Sends to one session, on this node or, in a cluster, on any node; false if no live node holds it (or NATS is unreachable). */
  unicast(sessionId: string, message: Message): boolean
  /** Sends to every session past its handshake, in a cluster on every node (encoded once per node); returns how many it reached here. */
  broadcast(message: Message): number
  /** The open session with that id, on this node. */
  session(sessionId: string): Session | undefined
  /**
   * The node that holds the session: this one's id for its own, another's in a cluster (as the
   * cluster's directory says), undefined for a session no live node holds.
   */
  locate(sessionId: string): string | undefined
  /**
   * The open sessions whose bound user id is `userId` (compared as strings), with the node of each:
   * this server's, and in a cluster every live node's.
   */
  findUser(userId: UserId): { sessionId: string; node: string }[]
  /** This node's id in its cluster; `'local'` for a server that is no cluster's node. */
  readonly node: string
  /** In a cluster, this node's membership (its `cluster:<node>` chart): `clustered`, `partitioned` while NATS is unreachable, `leaving`, `left`; null for no cluster. */
  readonly clusterState: ClusterNodeState | null
  /** Open sessions, including those still in their handshake. */
  readonly connectionCount: number
  /** The supervisor machine's state. */
  readonly state: ServerState
  /** Where the server listens, once it does. */
  readonly address: Address | null
  /**
   * Defines a room type: rooms of it are created by matching (`rooms.joinOrCreate`), each running
   * `definition.machine` as an actor `room:<name>:<id>` inside the game-logic actor's turns.
   */
  room(name: string, definition: RoomDefinition): void
  /** Matching, lifecycle and routing of the rooms; call its methods from handlers. */
  readonly rooms: Rooms
  /**
   * Stops accepting, lets queued handler work finish (up to `drainTimeout`), closes every session
   * with `server-stopping` after writing what it has queued, lets the disconnect handlers run, and
   * resolves. Calling it again returns the same promise.
   */
  stop(): Promise<void>
}

/** @example const server = createServer({ heartbeat: { interval: 5_000, timeout: 30_000 } }) */
export function createServer(options?: ServerOptions): Server {
  return new ZerostateServer(resolveOptions(options))
}

/** How long a WebSocket close handshake may take before the connection is cut. */
const CLOSE_TIMEOUT_MS = 2_000
/** A room whose snapshot is larger is not saved into the cluster (JetStream's default limit on a message is 1 MiB). */
const MAX_SNAPSHOT_BYTES = 256 * 1024

/** Both machines name a server stop the same way, so one event object serves both. */
const STOP = { type: 'server.stop' } as const
const REGISTRY_EMPTY = { type: 'registry.empty' } as const

class ZerostateServer implements Server, SessionHost, Arrivals, ClusterHost {
  readonly options: ResolvedOptions
  readonly game: GameLoop
  readonly frames: Message[] = []
  private readonly registry = new Map<string, ServerSession>()
  readonly tokens = new ResumeTokens<ServerSession>()
  private readonly supervisor: Actor<SupervisorMachine>
  private readonly connections: ConnectionFactory
  /** The connection actors' parent, a child of the supervisor (src/connectionFactory.ts). */
  private readonly connectionRegistry: AnyActorRef
  private readonly sweep: HeartbeatSweep
  private listeners: Listener[] = []
  private roomRegistry: RoomRegistry | null = null
  private cluster: ClusterLink | null = null
  /** In a cluster: resumes relayed to the nodes that hold their sessions (src/cluster/tunnels.ts). */
  private tunnels: Tunnels | null = null
  private clusterRooms: RoomCluster & { handOver(): Promise<void>; close(): void } | null = null
  /** Decided on creation (random unless the cluster option names it), so that it is known before listen() joins. */
  readonly node: string
  private dirty: ServerSession[] = []
  private stopping: Promise<void> | null = null
  /** The supervisor has closed every session (`closing`): the registry's emptying is news to it. */
  private closingAll = false
  private listenersClosed: Promise<void> = Promise.resolve()
  /** Settles once a pending listen() has bound or failed. */
  private bound: Promise<void> = Promise.resolve()
  address: Address | null = null

  constructor(options: ResolvedOptions) {
    this.options = options
    this.node = options.cluster === null ? 'local' : (options.cluster.node ?? randomBytes(4).toString('hex'))
    const { clock } = options
    this.game = new GameLoop({
      clock,
      inspect: options.inspect,
      handlerTimeout: options.handlerTimeout,
      maxPending: options.maxPendingMessages,
      onRelief: this.relieve,
    })
    this.supervisor = createActor(this.provideSupervisor(), {
      input: { drainTimeout: options.drainTimeout },
      clock,
      inspect: options.inspect,
      id: 'supervisor',
    })
    this.supervisor.subscribe({ error: (error) => console.error('zerostate: supervisor failed', error) })
    this.supervisor.start()
    this.connectionRegistry = createActor(connectionRegistry, { parent: this.supervisor, id: 'registry' })
    this.connectionRegistry.start()
    this.connections = new ConnectionFactory(
      this.provideConnection(),
      { handshake: options.handshake, verify: options.verify !== undefined, resume: options.resume !== null },
      this.connectionRegistry,
    )
    // The game's pending handler and the listeners' upgrade deadlines ride the same sweep.
    const others = { sweep: (now: number) => this.sweepOthers(now) }
    this.sweep = new HeartbeatSweep(clock, sweepPeriod(options), this.registry, others)
  }

  get accepting(): boolean {
    return this.state === 'listening'
  }

  get connectionCount(): number {
    return this.registry.size
  }

  get state(): ServerState {
    return this.supervisor.getSnapshot().value
  }

  onConnect(handler: ConnectHandler): () => void {
    return this.game.connects.add(handler)
  }

  onMessage(handler: MessageHandler): () => void {
    return this.game.messages.add(handler)
  }

  onDisconnect(handler: DisconnectHandler): () => void {
    return this.game.disconnects.add(handler)
  }

  onError(handler: ErrorHandler): () => void {
    return this.game.errors.add(handler)
  }

  listen(options: ListenOptions & { port: false }): Promise<Address & { port: null; webSocket: WebSocketAddress }>
  listen(options: ListenOptions & { port?: number; webSocket: WebSocketListenOptions | true }): Promise<Address & { port: number; webSocket: WebSocketAddress }>
  listen(options?: ListenOptions & { port?: number }): Promise<Address & { port: number }>
  listen(options: ListenOptions = {}): Promise<Address> {
    if (this.state !== 'idle') {
      return Promise.reject(new ListenError(`listen() needs an idle server, this one is ${this.state}`))
    }
    let plan: ListenPlan
    try {
      plan = listenPlan(options)
    } catch (error) {
      return Promise.reject(error)
    }
    this.supervisor.send({ type: 'server.listen' })
    const tcp = plan.port === false ? null : new TcpListener(plan.host, plan.port, this)
    const webSocket =
      plan.webSocket === null
        ? null
        : new WebSocketListener(
            {
              ...plan.webSocket,
              maxMessage: frameLength(this.options.maxPayload),
              upgradeTimeout: this.options.handshakeTimeout,
              closeTimeout: CLOSE_TIMEOUT_MS,
            },
            this,
            () => this.options.clock.now(),
          )
    this.listeners = [tcp, webSocket].filter((listener) => listener !== null)
    const clusterOptions = this.options.cluster
    const joining = clusterOptions === null ? null : this.joinCluster(clusterOptions)
    // Once joined, a cluster is left if anything else fails.
    void joining?.then((cluster) => (this.cluster = cluster)).catch(() => {})
    const listening = Promise.all([tcp?.listen() ?? null, webSocket?.listen() ?? null, joining]).then(
      ([tcpAddress, wsAddress]) => {
        // stop() came first: its stopAccepting closes what just bound.
        if (this.state !== 'starting') throw new ListenError('the server was stopped before it started listening')
        const path = plan.webSocket?.path ?? '/'
        this.address = {
          host: (tcpAddress ?? wsAddress)!.host,
          port: tcpAddress?.port ?? null,
          webSocket: wsAddress === null ? null : { ...wsAddress, path, url: urlOf(wsAddress, path) },
        }
        this.supervisor.send({ type: 'server.listening' })
        this.sweep.start()
        return this.address
      },
      async (error: unknown) => {
        // One way in failed: release whatever the others took.
        await Promise.allSettled([...this.listeners.map((listener) => listener.close()), joining?.then((cluster) => cluster.close())])
        this.cluster = null
        if (this.state === 'starting') this.supervisor.send({ type: 'server.failed' })
        throw error
      },
    )
    this.bound = listening.then(
      () => {},
      () => {},
    )
    return listening
  }

  /** Joins the cluster, and makes this node's rooms the cluster's (src/cluster/clusterRooms.ts). */
  private async joinCluster(options: ClusterOptions): Promise<ClusterLink> {
    const [{ NatsCluster }, { ClusterRooms }, { Tunnels, tokenPrefix }] = await Promise.all([
      import('./cluster/natsCluster.js'),
      import('./cluster/clusterRooms.js'),
      import('./cluster/tunnels.js'),
    ])
    const cluster = await NatsCluster.join({ ...options, node: this.node }, this, this.options.inspect)
    try {
      const rooms = await ClusterRooms.start(
        cluster,
        {
          registry: () => this.rooms,
          member: (sessionId) => {
            const session = this.registry.get(sessionId)
            return session?.closeReason === null ? session : undefined
          },
          schedule: (task) => this.game.task(task),
          report: (error) => this.game.report(error, undefined),
        },
        { snapshotInterval: options.snapshotInterval ?? 100, maxSnapshotBytes: MAX_SNAPSHOT_BYTES },
      )
      this.clusterRooms = rooms
      if (this.roomRegistry !== null) this.roomRegistry.cluster = rooms
      this.tunnels = cluster.tunnels = new Tunnels(cluster, { arrive: (open) => this.arrive(open), maxBufferedBytes: this.options.maxBufferedBytes })
      this.tokens.prefix = tokenPrefix(this.node)
    } catch (error) {
      await cluster.close()
      throw error
    }
    return cluster
  }

  unicast(sessionId: string, message: Message): boolean {
    const local = this.registry.get(sessionId)
    if (local !== undefined) return local.send(message)
    if (this.cluster === null || !isMessage(message)) return false
    return this.cluster.unicast(sessionId, encodeFrame(message.id, message.data))
  }

  broadcast(message: Message): number {
    if (!isMessage(message)) return 0
    // Encoded once: every session queues the same buffer, and every other node gets it once.
    const frame = encodeFrame(message.id, message.data)
    this.cluster?.broadcast(frame)
    return this.deliverAll(frame)
  }

  session(sessionId: string): Session | undefined {
    return this.registry.get(sessionId)
  }

  locate(sessionId: string): string | undefined {
    if (this.registry.has(sessionId)) return this.node
    return this.cluster?.locate(sessionId)
  }

  findUser(userId: UserId): { sessionId: string; node: string }[] {
    const user = String(userId)
    if (this.cluster !== null) return this.cluster.findUser(user)
    const found: { sessionId: string; node: string }[] = []
    for (const session of this.registry.values()) if (session.userId !== undefined && String(session.userId) === user) found.push({ sessionId: session.id, node: this.node })
    return found
  }

  userBound(session: ServerSession): void {
    if (session.userId !== undefined) this.cluster?.userBound(session.id, String(session.userId))
  }

  get clusterState(): ClusterNodeState | null {
    return this.cluster?.state ?? null
  }

  // --- ClusterHost: what other nodes send this node's sessions ------------------------------

  deliver(sessionId: string, frame: Buffer): boolean {
    return this.registry.get(sessionId)?.queue(frame) ?? false
  }

  localSessions(): Iterable<string> {
    return this.registry.keys()
  }

  deliverAll(frame: Buffer): number {
    let reached = 0
    for (const session of this.registry.values()) {
      if (session.live && session.queue(frame)) reached++
    }
    return reached
  }

  room(name: string, definition: RoomDefinition): void {
    this.rooms.define(name, definition)
    this.game.router = this.rooms
  }

  get rooms(): RoomRegistry {
    this.roomRegistry ??= new RoomRegistry({
      clock: this.options.clock,
      inspect: this.options.inspect,
      member: (session) => {
        const own = this.registry.get(session?.id)
        return own === session ? own : undefined
      },
      schedule: (task) => this.game.task(task),
      report: (error) => this.game.report(error, undefined),
      node: this.node,
    })
    this.roomRegistry.cluster = this.clusterRooms
    return this.roomRegistry
  }

  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      const finish = async () => {
        // In a cluster, the rooms go on on other nodes; what is left closes.
        await this.clusterRooms?.handOver().catch(() => {})
        this.roomRegistry?.stop()
        this.clusterRooms?.close()
        this.sweep.stop()
        this.tunnels?.close()
        await this.listenersClosed
        await this.cluster?.close()
        resolve()
      }
      this.supervisor.subscribe({ complete: () => void finish() })
      this.supervisor.send(STOP)
    })
    return this.stopping
  }

  connectionActor(session: ServerSession): Actor<ConnectionMachine> {
    return this.connections.create(session.id, new ActorFailure(session))
  }

  scheduleFlush(session: ServerSession): void {
    if (this.dirty.push(session) === 1) process.nextTick(this.flushAll)
  }

  released(session: ServerSession): void {
    this.forget(session)
    if (session.announced) this.game.disconnect(session, session.closeError!)
  }

  announce(session: ServerSession): void {
    this.game.connect(session)
  }

  resume(arrival: ServerSession, token: Uint8Array, received: number, rest: Message[]): void {
    // A token is taken once: of two connections presenting it, the first to be read wins.
    const session = this.tokens.take(token)
    // Another node's token: the connection is relayed there (src/cluster/tunnels.ts).
    if (session === undefined && this.tunnels?.open(arrival, token)) return
    if (session === undefined || session.closeReason !== null) return arrival.refuse()
    session.resumeOver(arrival, received, rest)
  }

  detached(session: ServerSession): void {
    const rooms = this.roomRegistry
    if (rooms !== null) this.game.task(() => rooms.dropped(session))
  }

  reattached(session: ServerSession): void {
    const rooms = this.roomRegistry
    if (rooms !== null) this.game.task(() => rooms.resumed(session))
  }

  handedOver(session: ServerSession): void {
    this.forget(session)
  }

  /** The session leaves the registry and the wait for the game; the last one a stop closes lets the stop go on. */
  private forget(session: ServerSession): void {
    this.waitingForGame.delete(session)
    this.registry.delete(session.id)
    this.cluster?.closed(session.id)
    if (this.closingAll && this.registry.size === 0) this.supervisor.send(REGISTRY_EMPTY)
  }

  /** Sessions that stopped reading because the game-logic queue was full. */
  private readonly waitingForGame = new Set<ServerSession>()

  waitForGame(session: ServerSession): void {
    this.waitingForGame.add(session)
  }

  private readonly relieve = (): void => {
    for (const session of this.waitingForGame) session.gameRelieved()
    this.waitingForGame.clear()
  }

  private readonly flushAll = (): void => {
    const dirty = this.dirty
    this.dirty = []
    for (const session of dirty) session.flush()
  }

  /** A listener's connection: it becomes a session. */
  arrive(open: (sink: TransportSink) => Transport): void {
    const session = new ServerSession(this, open)
    this.registry.set(session.id, session)
    this.cluster?.opened(session.id)
    // The event carries the session so that an inspector's log says where it came from (src/inspect/timeline.ts).
    this.connectionRegistry.send({ type: 'connection.opened', session })
    if (session.announced) this.game.connect(session)
    session.actor.start()
  }

  private sweepOthers(now: number): void {
    this.game.sweep(now)
    for (const listener of this.listeners) listener.sweep(now)
  }

  private provideConnection(): ConnectionMachine {
    const { verify } = this.options
    const sessionOf = (id: string) => this.registry.get(id)
    return connectionMachine.provide({
      actions: {
        activate: ({ context }) => sessionOf(context.sessionId)?.activate(),
        probe: ({ context }) => sessionOf(context.sessionId)?.probe(),
        release: ({ context }) => sessionOf(context.sessionId)?.release(context.reason ?? 'internal-error'),
        detach: ({ context }) => sessionOf(context.sessionId)?.detach(context.loss ?? 'reset'),
        reattach: ({ context }) => sessionOf(context.sessionId)?.reattach(),
        handOver: ({ context }) => sessionOf(context.sessionId)?.handOver(),
      },
      actors: {
        verify: fromPromise<boolean, VerifyInput>(async ({ input }) => {
          const session = sessionOf(input.sessionId)
          if (verify === undefined || session === undefined) return false
          const verdict = await verify(session, input.frame)
          if (verdict === true) return true
          if (typeof verdict === 'object' && verdict !== null) session.rejectWith(verdict)
          return false
        }),
      },
    })
  }

  private provideSupervisor(): SupervisorMachine {
    return supervisorMachine.provide({
      actions: {
        stopAccepting: () => {
          // Resolves once every accepted connection has closed, which stop() waits for. A listen()
          // still binding is let finish first, so the ports it takes are released too.
          this.listenersClosed = this.bound.then(async () => {
            await Promise.all(this.listeners.map((listener) => listener.close()))
          })
        },
        closeAll: () => {
          this.closingAll = true
          for (const session of this.registry.values()) if (session.closeReason === null) session.actor.send(STOP)
          // Sent from the chart's own action, the event waits its turn: the chart is in `closing` first.
          if (this.registry.size === 0) this.supervisor.send(REGISTRY_EMPTY)
        },
      },
      actors: {
        drainGameLogic: fromPromise(() => this.game.whenIdle()),
      },
    })
  }
}

/**
 * A connection actor's error observer: a small object with a method, where a closure (and the
 * function XState binds from it) kept about 800 B more of every session alive.
 */
class ActorFailure {
  constructor(private readonly session: ServerSession) {}

  error(): void {
    this.session.release('internal-error')
  }
}

/** A quarter of the shortest deadline the sweep keeps: timeouts are late by at most that much. */
function sweepPeriod(options: ResolvedOptions): number {
  const shortest = Math.min(
    options.heartbeatInterval,
    options.heartbeatTimeout - options.heartbeatInterval,
    options.handshakeTimeout,
    options.resume?.grace ?? Number.POSITIVE_INFINITY,
  )
  return Math.max(1, Math.floor(shortest / 4))
}
