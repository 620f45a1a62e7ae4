import type { KV } from '@nats-io/kv'
import type { NatsConnection, Subscription } from '@nats-io/transport-node'
import { type Actor, createActor } from 'xstate'
import { type ClusterNodeEvent, type ClusterNodeMachine, type ClusterNodeState, clusterNodeMachine } from '../../machines/clusterNode.js'
import { ListenError } from '../errors.js'
import type { Inspect } from '../options.js'
import type { ClusterHost, ClusterLink, ClusterOptions, ClusterSession } from './clusterLink.js'
import { NodeOutbox, readRecords, RECORD, type RecordKind } from './nodeOutbox.js'
import type { Tunnels } from './tunnels.js'

/** What the sessions bucket holds for a session. */
interface DirectoryEntry {
  readonly node: string
  readonly user?: string
}

function parseEntry(value: string): DirectoryEntry | null {
  try {
    const entry = JSON.parse(value) as Partial<DirectoryEntry>
    if (typeof entry.node !== 'string') return null
    return typeof entry.user === 'string' ? { node: entry.node, user: entry.user } : { node: entry.node }
  } catch {
    return null
  }
}

/** A node is dead once it has not said it is alive for this many heartbeats. */
const DEAD_AFTER_BEATS = 3

/**
 * One node of a cluster on NATS. Subjects, under `zerostate.<name>`:
 * - `node.<node>`: what other nodes send that node, batched (src/cluster/nodeOutbox.ts): frames
 *   for its sessions, and the rooms' records;
 * - `broadcast.<node>`: a frame for every session of every node but the sending one, which served its own.
 * Two JetStream KV buckets make the directory: `<name>-nodes` (node → the time it last said it is
 * alive, every `heartbeat` ms) and `<name>-sessions` (session id → `{ node, user }`, the user id
 * once the session binds one, as a string). Each node watches both into memory, so `locate`,
 * `findUser` and `unicast` read no network. A node silent for three heartbeats is
 * dead: lookups skip its sessions at once, and the live node with the smallest id deletes them.
 * This works on nats-server 2.9, which has no per-key TTL.
 */
export class NatsCluster implements ClusterLink {
  private readonly nodes = new Map<string, number>()
  private readonly sessions = new Map<string, DirectoryEntry>()
  /** User id → its sessions' ids, from the directory. */
  private readonly users = new Map<string, Set<string>>()
  private readonly subscriptions: Subscription[] = []
  private readonly outbox: NodeOutbox
  /** Nodes known to be alive at the last heartbeat, to tell when one dies. */
  private wasLive = new Set<string>()
  /** The rooms' part of the cluster (src/cluster/clusterRooms.ts) hears room records and node deaths here. */
  onRecord: ((from: string, kind: RecordKind, head: string, body: Buffer) => void) | null = null
  onNodeLost: ((node: string) => void) | null = null
  /** Resumes relayed to or from other nodes: they hear TUNNEL records and node deaths. */
  tunnels: Tunnels | null = null
  /** After each of this node's heartbeats. */
  onBeat: (() => void) | null = null
  /** NATS is back after a partition. */
  onRejoined: (() => void) | null = null
  private beat: NodeJS.Timeout | null = null
  private closing = false
  /** `cluster:<node>` in the inspector: clustered, partitioned (NATS unreachable), leaving, left. */
  readonly actor: Actor<ClusterNodeMachine>
  /**
   * No reaping, and no restoring of rooms, before this time: back from a partition, the others'
   * heartbeats in memory are old.
   */
  private reapAfter = 0
  /** The chart's `clustered` state, kept by a subscription: every cross-node frame asks, and a field costs less than `matches`. */
  private clustered = true

  private constructor(
    readonly node: string,
    private readonly prefix: string,
    readonly heartbeat: number,
    private readonly nc: NatsConnection,
    private readonly nodeKv: KV,
    private readonly sessionKv: KV,
    private readonly host: ClusterHost,
    inspect: Inspect | undefined,
    /** Opens (or makes) a bucket of the cluster's own: the rooms' directory and snapshots. */
    readonly bucket: (suffix: string) => Promise<KV>,
  ) {
    // A connection closed under the flush throws: what it held is lost with the connection, never thrown into the event loop.
    const publish = (target: string, data: Uint8Array) => {
      try {
        nc.publish(`${prefix}.node.${target}`, data)
      } catch {}
    }
    this.outbox = new NodeOutbox(node, publish, nc.info?.max_payload)
    this.actor = createActor(clusterNodeMachine, { id: `cluster:${node}`, inspect })
    this.actor.subscribe((snapshot) => {
      this.clustered = snapshot.matches('clustered')
    })
    this.actor.start()
  }

  /** Joins as `options.node`, which the server has decided (src/server.ts). */
  static async join(options: ClusterOptions & { node: string }, host: ClusterHost, inspect?: Inspect): Promise<NatsCluster> {
    const { node } = options
    const name = options.name ?? 'zerostate'
    const heartbeat = options.heartbeat ?? 1_000
    const [{ connect }, { Kvm }] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/kv')])
    let nc: NatsConnection
    try {
      // Reconnecting at least every heartbeat (NATS's default wait is 2 s): a node back sooner is taken for dead less often.
      // No async traces: otherwise every request (each session's directory write is one) captures a stack it rarely needs.
      nc = await connect({
        servers: options.nats,
        name: `zerostate ${name} ${node}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: Math.min(2_000, heartbeat),
        noAsyncTraces: true,
      })
    } catch (error) {
      throw new ListenError(`cannot reach NATS at ${String(options.nats)}: ${(error as Error).message}`)
    }
    try {
      const kvm = new Kvm(nc)
      const [nodeKv, sessionKv] = await Promise.all([
        kvm.create(`${name}-nodes`, { history: 1, ttl: heartbeat * DEAD_AFTER_BEATS * 10 }),
        kvm.create(`${name}-sessions`, { history: 1 }),
      ])
      const bucket = (suffix: string) => kvm.create(`${name}-${suffix}`, { history: 1 })
      const cluster = new NatsCluster(node, `zerostate.${name}`, heartbeat, nc, nodeKv, sessionKv, host, inspect, bucket)
      await cluster.start()
      return cluster
    } catch (error) {
      // NATS without JetStream, or a bucket that cannot be made: nothing of the node stays.
      await nc.close()
      throw new ListenError(`cannot join the cluster on NATS at ${String(options.nats)}: ${(error as Error).message}`)
    }
  }

  private async start(): Promise<void> {
    const { nc, prefix } = this
    this.subscriptions.push(
      nc.subscribe(`${prefix}.node.${this.node}`, {
        callback: (error, message) => {
          // One copy of the whole batch (its buffer is NATS's): the records' bodies are views of it that sessions and rooms may keep.
          if (error === null) readRecords(Buffer.from(message.data), this.received)
        },
      }),
      nc.subscribe(`${prefix}.broadcast.*`, {
        callback: (error, message) => {
          if (error !== null || message.subject === this.ownBroadcast) return
          this.host.deliverAll(Buffer.from(message.data))
        },
      }),
    )
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') {
          this.tell({ type: 'nats.disconnected' })
        } else if (status.type === 'reconnect') {
          this.tell({ type: 'nats.reconnected' })
          this.rejoined()
        }
      }
    })()
    void nc.closed().then(() => this.tell({ type: 'nats.closed' }))
    await this.watch(this.nodeKv, (key, value) => {
      if (value === null) this.nodes.delete(key)
      else this.nodes.set(key, Number(value))
    })
    await this.watch(this.sessionKv, (key, value) => {
      // Another node reaped this node's live session (it took this node for dead, too busy to beat): it goes back.
      if (value === null && this.sessions.get(key)?.node === this.node && !this.closing) this.write(key, this.sessions.get(key)!.user)
      else this.record(key, value === null ? null : parseEntry(value))
    })
    await this.alive()
    this.beat = setInterval(() => void this.alive().catch(() => {}), this.heartbeat)
    this.beat.unref()
    await nc.flush()
  }

  private readonly received = (from: string, kind: RecordKind, head: string, body: Buffer): void => {
    if (kind === RECORD.UNICAST) this.host.deliver(head, body)
    else if (kind === RECORD.MULTICAST) for (const sessionId of head.split(' ')) this.host.deliver(sessionId, body)
    else if (kind === RECORD.TUNNEL) this.tunnels?.received(from, head, body)
    else this.onRecord?.(from, kind, head, body)
  }

  /** Follows a bucket into memory: every key's value now, then each change (null for a delete). */
  async watch(kv: KV, apply: (key: string, value: string | null) => void): Promise<void> {
    const entries = await kv.watch()
    void (async () => {
      for await (const entry of entries) apply(entry.key, entry.operation === 'PUT' ? entry.string() : null)
    })()
  }

  /** Tells the membership chart, unless it has ended (a closed connection ends it; a stop may follow). */
  private tell(event: ClusterNodeEvent): void {
    if (this.actor.getSnapshot().status === 'active') this.actor.send(event)
  }

  /** NATS is unreachable (the client is reconnecting), or the node has left: cross-node sends fail at once. */
  private get down(): boolean {
    return !this.clustered
  }

  /** The chart's state: clustered, partitioned, leaving or left. */
  get state(): ClusterNodeState {
    return this.actor.getSnapshot().value as ClusterNodeState
  }

  private async alive(): Promise<void> {
    if (this.closing || this.down) return
    await this.nodeKv.put(this.node, String(Date.now()))
    if (Date.now() < this.reapAfter) return
    this.reapDead()
    this.onBeat?.()
  }

  live(node: string): boolean {
    if (node === this.node) return !this.closing
    const beat = this.nodes.get(node)
    return beat !== undefined && Date.now() - beat < this.heartbeat * DEAD_AFTER_BEATS
  }

  /**
   * Back from a partition: the others may have taken this node for dead and deleted its entries,
   * so they are written again, and reaping waits until every live node has beaten since.
   */
  private rejoined(): void {
    this.reapAfter = Date.now() + this.heartbeat * DEAD_AFTER_BEATS
    void this.alive().catch(() => {})
    for (const sessionId of this.host.localSessions()) this.write(sessionId, this.sessions.get(sessionId)?.user)
    this.onRejoined?.()
  }

  /** Every live node, this one included, by id. */
  liveNodes(): string[] {
    const live = [...this.nodes.keys()].filter((node) => this.live(node))
    if (!live.includes(this.node) && !this.closing) live.push(this.node)
    return live.sort()
  }

  /**
   * Tells `onNodeLost` of each node that was alive at the last heartbeat and is not now; then the
   * live node with the smallest id deletes the dead nodes' entries.
   */
  private reapDead(): void {
    const live = this.liveNodes()
    const now = new Set(live)
    for (const node of this.wasLive) {
      if (now.has(node)) continue
      this.tunnels?.nodeLost(node)
      this.onNodeLost?.(node)
    }
    this.wasLive = now
    if (live[0] !== this.node) return
    for (const [sessionId, { node }] of this.sessions) if (!this.live(node)) void this.sessionKv.delete(sessionId).catch(() => {})
    for (const node of this.nodes.keys()) if (!this.live(node)) void this.nodeKv.delete(node).catch(() => {})
  }

  private get ownBroadcast(): string {
    return `${this.prefix}.broadcast.${this.node}`
  }

  locate(sessionId: string): string | undefined {
    const node = this.sessions.get(sessionId)?.node
    return node !== undefined && this.live(node) ? node : undefined
  }

  findUser(userId: string): ClusterSession[] {
    const found: ClusterSession[] = []
    for (const sessionId of this.users.get(userId) ?? []) {
      const node = this.locate(sessionId)
      if (node !== undefined) found.push({ sessionId, node })
    }
    return found
  }

  unicast(sessionId: string, frame: Buffer): boolean {
    const node = this.locate(sessionId)
    if (node === undefined || node === this.node) return false
    return this.unicastTo(node, sessionId, frame)
  }

  /** A frame for a session of that node, whatever the directory says yet (a room knows its players' nodes). */
  unicastTo(node: string, sessionId: string, frame: Uint8Array): boolean {
    if (this.down || !this.live(node)) return false
    return this.outbox.add(node, RECORD.UNICAST, sessionId, frame)
  }

  /** Queues a record for another live node; records to one node go in one message per event-loop turn, in order. */
  post(node: string, kind: RecordKind, head: string, body: Uint8Array): boolean {
    if (this.down || !this.live(node) || node === this.node) return false
    return this.outbox.add(node, kind, head, body)
  }

  /** False if NATS is unreachable, or the frame is larger than one NATS message. */
  broadcast(frame: Buffer): boolean {
    if (this.down) return false
    try {
      this.nc.publish(this.ownBroadcast, frame)
      return true
    } catch {
      return false
    }
  }

  opened(sessionId: string): void {
    this.write(sessionId, undefined)
  }

  userBound(sessionId: string, userId: string): void {
    this.write(sessionId, userId)
  }

  closed(sessionId: string): void {
    this.record(sessionId, null)
    void this.sessionKv.delete(sessionId).catch(() => {})
  }

  /** This node's session, in memory at once and in the directory soon after. */
  private write(sessionId: string, user: string | undefined): void {
    const entry: DirectoryEntry = user === undefined ? { node: this.node } : { node: this.node, user }
    this.record(sessionId, entry)
    void this.sessionKv.put(sessionId, JSON.stringify(entry)).catch(() => {})
  }

  /** A directory entry as it is now (null: gone), with the user index kept in step. */
  private record(sessionId: string, entry: DirectoryEntry | null): void {
    const before = this.sessions.get(sessionId)?.user
    if (before !== undefined && before !== entry?.user) {
      const ids = this.users.get(before)
      ids?.delete(sessionId)
      if (ids?.size === 0) this.users.delete(before)
    }
    if (entry === null) {
      this.sessions.delete(sessionId)
      return
    }
    this.sessions.set(sessionId, entry)
    if (entry.user !== undefined) {
      let ids = this.users.get(entry.user)
      if (ids === undefined) this.users.set(entry.user, (ids = new Set()))
      ids.add(sessionId)
    }
  }

  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.tell({ type: 'cluster.leave' })
    if (this.beat !== null) clearInterval(this.beat)
    this.outbox.flush()
    for (const subscription of this.subscriptions) subscription.unsubscribe()
    const mine = [...this.sessions].filter(([, { node }]) => node === this.node).map(([sessionId]) => sessionId)
    await Promise.allSettled([...mine.map((sessionId) => this.sessionKv.delete(sessionId)), this.nodeKv.delete(this.node)])
    await this.nc.drain().catch(() => this.nc.close())
  }
}
