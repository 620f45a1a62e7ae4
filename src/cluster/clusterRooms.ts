import type { KV } from '@nats-io/kv'
import type { LeaveReason, PlayerId } from '../../machines/room.js'
import { type CloseReason, RoomError, type RoomErrorCode, type ZerostateError } from '../errors.js'
import type { Message } from '../protocol/message.js'
import type { PersistedRoom, Room, RoomInfo, RoomMember, RoomType, SeatRecord } from '../rooms/room.js'
import { controlFrame, ROOM_CONTROL_IDS } from '../rooms/roomControl.js'
import type { JoinOptions, RoomCluster, RoomRegistry } from '../rooms/roomRegistry.js'
import type { UserId } from '../session.js'
import { fnv1a } from './fnv1a.js'
import type { NatsCluster } from './natsCluster.js'
import { RECORD, type RecordKind } from './nodeOutbox.js'
import { RemoteMember } from './remoteMember.js'
import { RemoteSeat, type RemoteSeatHost } from './remoteSeat.js'

/** What the rooms of a cluster need of the server. */
export interface ClusterRoomsHost {
  /** The server's rooms (made on first use). */
  registry(): RoomRegistry
  /** This node's open session with that id, as a room member. */
  member(sessionId: string): RoomMember | undefined
  /** Runs a task in the game loop's turn, serialized with every handler and tick. */
  schedule(task: () => void): void
  report(error: ZerostateError): void
}

export interface ClusterRoomsOptions {
  /** A changed room's snapshot is written at most this often (ms). */
  snapshotInterval: number
  /** A snapshot larger than this (bytes of JSON) is not written, and `snapshot-too-large` reported once. */
  maxSnapshotBytes: number
}

/** What the snapshots bucket holds for a room. */
interface SavedRoom {
  readonly room: PersistedRoom
  readonly seats: readonly SeatRecord[]
  /** When it was taken (ms since the epoch). */
  readonly at: number
}

interface Pending {
  /** Timed out: a late ok reply still holds a seat there, which goes. */
  expired: boolean
  readonly member: RoomMember
  readonly type: RoomType
  readonly control: boolean
  readonly resolve: (info: RoomInfo) => void
  readonly reject: (error: RoomError) => void
  timer: NodeJS.Timeout
}

/** The records the rooms send between nodes (CONTROL records' JSON). */
type Control =
  | { t: 'join'; rid: number; roomId: string; player: PlayerId; userId?: UserId; options: Record<string, unknown>; control: boolean }
  | { t: 'create'; rid: number; name: string; matchAny: boolean; player: PlayerId; userId?: UserId; options: Record<string, unknown>; control: boolean }
  | { t: 'reply'; rid: number; ok: true; info: RoomInfo }
  | { t: 'reply'; rid: number; ok: false; code: RoomErrorCode; message: string }
  | { t: 'leave'; roomId: string; player: PlayerId; reason: LeaveReason }
  | { t: 'drop' | 'resume'; roomId: string; player: PlayerId }
  | { t: 'unseated'; roomId: string; player: PlayerId }
  | { t: 'moved'; roomId: string; player: PlayerId; info: RoomInfo }
  | { t: 'pause' | 'paused'; roomId: string }
  | { t: 'handover'; saved: SavedRoom }

/** A record for a room that is moving, held on the player's node until the new owner says where the room is. */
interface Held {
  readonly kind: RecordKind
  readonly head: string
  readonly body: Buffer
}

/** A join waits this long for the owning node's answer before it fails with `room-unreachable`. */
const REQUEST_TIMEOUT_MS = 5_000
/** Matching tries this many open rooms of other nodes (a directory a moment old may list full ones) before it creates one. */
const JOIN_TRIES = 3
/** A stopping node waits this long for the players' nodes to hold their frames before it hands its rooms over anyway. */
const PAUSE_TIMEOUT_MS = 2_000
/** A moving room's records held on a player's node past this many are lost, so a handover that never ends costs bounded memory. */
const MAX_HELD = 10_000

/**
 * The rooms of a cluster. A room lives on one node, which runs its machine; its players may be
 * connected to any node. Three KV-free paths carry the play, all as records between nodes
 * (src/cluster/nodeOutbox.ts), so that each player's frames and each room's sends keep their order:
 * - a player's frame travels to the room's node (`PLAYER`), and what the room sends travels back
 *   to the player's node (`UNICAST`);
 * - joins are requests to the owning node, which seats the player in its game loop's turn (so a
 *   room never overfills, whatever joins at once) and replies ahead of what the room sends;
 * - leaves, drops and resumes are notices to the owner; seats the owner ends are notices back.
 *
 * Two buckets hold what outlives a message: `<name>-rooms`, the directory every node watches into
 * memory (each room's `RoomInfo`: matching and placement read it), and `<name>-snapshots`, each
 * room's last snapshot with its seats, written at most every `snapshotInterval` while it changes.
 * When a node dies, each of its rooms is restored by one surviving node (picked by the room id,
 * claimed with a compare-and-set on the directory entry), its seats given back to the players
 * whose nodes live. What the room heard after its last snapshot is lost.
 *
 * A node that stops cleanly hands its rooms over instead (`handOver`), losing nothing: each
 * player's node first holds what it sends the room and says so, after what it sent before (which
 * the room still hears here); then the room's snapshot, taken at that moment, travels to its new
 * owner, which runs it and tells the players' nodes, which send it what they held.
 */
export class ClusterRooms implements RoomCluster, RemoteSeatHost {
  private readonly entries = new Map<string, RoomInfo>()
  private readonly pending = new Map<number, Pending>()
  private nextRequest = 1
  /** Joins sent to a node to create a room there, not yet answered: placement counts them. */
  private readonly creating = new Map<string, number>()
  private readonly dirtyEntries = new Set<Room>()
  private entriesScheduled = false
  private readonly dirtySnapshots = new Set<Room>()
  private readonly tooLarge = new Set<string>()
  private readonly restoring = new Set<string>()
  /** Records for rooms that are moving (their owner is handing them over), by room id. */
  private readonly held = new Map<string, Held[]>()
  /** This node's rooms it is handing over, each with the players' nodes that have not said they hold their frames yet. */
  private readonly moving = new Map<string, Set<string>>()
  private paused: (() => void) | null = null
  /** Rooms this node ran through a partition that another node restored meanwhile: their entries are that node's now. */
  private readonly stale = new Set<string>()
  private readonly timer: NodeJS.Timeout
  private closed = false

  private constructor(
    private readonly link: NatsCluster,
    private readonly host: ClusterRoomsHost,
    private readonly directoryKv: KV,
    private readonly snapshotKv: KV,
    private readonly options: ClusterRoomsOptions,
  ) {
    this.timer = setInterval(this.saveSnapshots, options.snapshotInterval)
    this.timer.unref()
  }

  static async start(link: NatsCluster, host: ClusterRoomsHost, options: ClusterRoomsOptions): Promise<ClusterRooms> {
    const [directoryKv, snapshotKv] = await Promise.all([link.bucket('rooms'), link.bucket('snapshots')])
    const rooms = new ClusterRooms(link, host, directoryKv, snapshotKv, options)
    await link.watch(directoryKv, rooms.entryChanged)
    link.onRecord = rooms.received
    link.onNodeLost = rooms.nodeLost
    link.onBeat = rooms.restoreOrphans
    link.onRejoined = rooms.rejoined
    return rooms
  }

  // --- matching, from this node's sessions -----------------------------------------------------

  async matchmake(member: RoomMember, type: RoomType, join: JoinOptions, control: boolean): Promise<RoomInfo> {
    const options = join.options ?? {}
    const tried = new Set<string>()
    for (let attempt = 0; attempt < JOIN_TRIES; attempt++) {
      const candidate = this.candidate(type, join.filter, tried)
      if (candidate === undefined) break
      tried.add(candidate.id)
      try {
        return await this.request(candidate.node, member, type, control, { t: 'join', rid: 0, roomId: candidate.id, player: member.id, userId: member.userId, options, control })
      } catch (error) {
        if (!(error instanceof RoomError) || !['room-full', 'room-not-found', 'room-unreachable'].includes(error.code)) throw error
      }
    }
    const node = this.leastLoaded()
    const registry = this.host.registry()
    if (node === this.link.node) return registry.seatMember(registry.matchOrCreate(type, options, join.filter === undefined), member, options, control)
    this.creating.set(node, (this.creating.get(node) ?? 0) + 1)
    try {
      return await this.request(node, member, type, control, {
        t: 'create',
        rid: 0,
        name: type.name,
        matchAny: join.filter === undefined,
        player: member.id,
        userId: member.userId,
        options,
        control,
      })
    } finally {
      const left = this.creating.get(node)! - 1
      if (left === 0) this.creating.delete(node)
      else this.creating.set(node, left)
    }
  }

  async joinById(member: RoomMember, roomId: string, join: Omit<JoinOptions, 'filter'>, control: boolean): Promise<RoomInfo> {
    const entry = this.entries.get(roomId)
    if (entry === undefined || !this.link.live(entry.node)) throw new RoomError('room-not-found', `no room ${roomId}`)
    const type = this.host.registry().typeOf(entry.name)
    return this.request(entry.node, member, type, control, { t: 'join', rid: 0, roomId, player: member.id, userId: member.userId, options: join.options ?? {}, control })
  }

  directory(name?: string): RoomInfo[] {
    const out: RoomInfo[] = []
    for (const entry of this.entries.values()) if ((name === undefined || entry.name === name) && this.link.live(entry.node)) out.push(entry)
    return out
  }

  /** The open room of another live node that matching tries next: the fullest, so rooms fill before new ones open. */
  private candidate(type: RoomType, filter: JoinOptions['filter'], tried: ReadonlySet<string>): RoomInfo | undefined {
    let best: RoomInfo | undefined
    for (const entry of this.entries.values()) {
      if (entry.name !== type.name || entry.locked || entry.node === this.link.node || tried.has(entry.id) || !this.link.live(entry.node)) continue
      if (filter !== undefined && filter(entry.metadata) !== true) continue
      if (best === undefined || entry.players.length > best.players.length) best = entry
    }
    return best
  }

  /**
   * The live node with the fewest rooms (counting those being created there): this node if it is
   * one of them (its players' frames then cross nothing), else the smallest id.
   */
  private leastLoaded(): string {
    const load = new Map<string, number>([[this.link.node, 0]])
    for (const node of this.link.liveNodes()) load.set(node, this.creating.get(node) ?? 0)
    for (const entry of this.entries.values()) if (load.has(entry.node)) load.set(entry.node, load.get(entry.node)! + 1)
    let best = this.link.node
    for (const [node, rooms] of load) if (rooms < load.get(best)! || (rooms === load.get(best)! && best !== this.link.node && node < best)) best = node
    return best
  }

  private request(node: string, member: RoomMember, type: RoomType, control: boolean, body: Extract<Control, { t: 'join' | 'create' }>): Promise<RoomInfo> {
    return new Promise<RoomInfo>((resolve, reject) => {
      const rid = this.nextRequest++
      if (!this.send(node, { ...body, rid })) {
        reject(new RoomError('room-unreachable', `node ${node} cannot be reached`))
        return
      }
      const pending: Pending = {
        expired: false,
        member,
        type,
        control,
        resolve,
        reject,
        timer: setTimeout(() => {
          reject(new RoomError('room-unreachable', `node ${node} did not answer the join within ${REQUEST_TIMEOUT_MS} ms`))
          // Kept as long again for a late answer, whose seat is then given back.
          pending.expired = true
          pending.timer = setTimeout(() => this.pending.delete(rid), REQUEST_TIMEOUT_MS)
        }, REQUEST_TIMEOUT_MS),
      }
      this.pending.set(rid, pending)
    })
  }

  /** The owner's answer to a join. It comes ahead of what the room sent the player, so the membership is in place first. */
  private replied(from: string, reply: Extract<Control, { t: 'reply' }>): void {
    const pending = this.pending.get(reply.rid)
    if (pending === undefined) return
    this.pending.delete(reply.rid)
    clearTimeout(pending.timer)
    if (pending.expired) {
      // Too late: the join failed here, so the seat it took there goes.
      if (reply.ok) this.send(from, { t: 'leave', roomId: reply.info.id, player: pending.member.id, reason: 'left' })
      return
    }
    if (!reply.ok) {
      pending.reject(new RoomError(reply.code, reply.message))
      return
    }
    const { member, type, control } = pending
    if (member.closeReason !== null) {
      this.send(from, { t: 'leave', roomId: reply.info.id, player: member.id, reason: member.closeReason })
      pending.reject(new RoomError('session-closed', `session ${member.id} closed while it joined`))
      return
    }
    this.entries.set(reply.info.id, reply.info)
    if (reply.info.players.includes(member.id)) this.host.registry().joinedRemote(member.id, new RemoteSeat(reply.info.id, type, from, reply.info, control, this))
    pending.resolve(reply.info)
  }

  // --- RemoteSeatHost: this node's sessions in other nodes' rooms -----------------------------

  entry(roomId: string): RoomInfo | undefined {
    return this.entries.get(roomId)
  }

  forward(node: string, roomId: string, player: PlayerId, message: Message): boolean {
    const body = Buffer.allocUnsafe(4 + message.data.length)
    body.writeInt32BE(message.id, 0)
    body.set(message.data, 4)
    return this.toRoom(node, roomId, RECORD.PLAYER, `${player} ${roomId}`, body)
  }

  notify(node: string, notice: Record<string, unknown> & { roomId: string }): boolean {
    return this.toRoom(node, notice.roomId, RECORD.CONTROL, '', Buffer.from(JSON.stringify(notice)))
  }

  /** A record for a room's owner, or held while the room moves. */
  private toRoom(node: string, roomId: string, kind: RecordKind, head: string, body: Buffer): boolean {
    const held = this.held.get(roomId)
    if (held === undefined) return this.link.post(node, kind, head, body)
    if (held.length >= MAX_HELD) return false
    held.push({ kind, head, body })
    return true
  }

  /** The moving room runs on `node` now: what was held for it goes there, in order (on this node, into the room at once). */
  private release(roomId: string, node: string): void {
    const held = this.held.get(roomId)
    if (held === undefined) return
    this.held.delete(roomId)
    for (const { kind, head, body } of held) {
      if (node !== this.link.node) this.link.post(node, kind, head, body)
      else if (kind === RECORD.PLAYER) this.playerFrame(head, body)
      else this.heard(node, JSON.parse(body.toString('utf8')) as Control)
    }
  }

  unseated(seat: RemoteSeat, player: PlayerId): void {
    this.host.registry().unseated(seat, player)
  }

  // --- what this node's rooms tell the cluster (RoomCluster) ---------------------------------

  created(room: Room): void {
    room.actor.subscribe(() => this.dirtySnapshots.add(room))
    this.changed(room)
  }

  changed(room: Room): void {
    this.dirtySnapshots.add(room)
    this.dirtyEntries.add(room)
    if (this.entriesScheduled) return
    this.entriesScheduled = true
    setImmediate(this.writeEntries)
  }

  disposed(room: Room): void {
    this.dirtyEntries.delete(room)
    this.dirtySnapshots.delete(room)
    if (this.stale.delete(room.id) || this.closed) return
    this.entries.delete(room.id)
    void this.directoryKv.delete(room.id).catch(() => {})
    void this.snapshotKv.delete(room.id).catch(() => {})
  }

  /** A seat of this node's room whose player is on another node ended here (kick, the room closed): that node hears it. */
  left(member: RoomMember, roomId: string): void {
    if (member instanceof RemoteMember && !member.leaving) this.send(member.node, { t: 'unseated', roomId, player: member.id })
  }

  /** What matching on every node sees of this node's changed rooms, written once per turn. */
  private readonly writeEntries = (): void => {
    this.entriesScheduled = false
    for (const room of this.dirtyEntries) {
      const info = room.info()
      this.entries.set(room.id, info)
      if (!this.closed) void this.directoryKv.put(room.id, JSON.stringify(info)).catch(() => {})
    }
    this.dirtyEntries.clear()
  }

  /** Every room that changed since the last time, saved with its seats. */
  private readonly saveSnapshots = (): void => {
    if (this.closed || this.link.state !== 'clustered') return
    for (const room of this.dirtySnapshots) {
      const json = this.snapshot(room)
      if (json !== null) void this.snapshotKv.put(room.id, json).catch(() => {})
    }
    this.dirtySnapshots.clear()
  }

  /** The room's state and seats now, as JSON; null (and `snapshot-too-large` reported once) if it cannot be saved. */
  private snapshot(room: Room): string | null {
    let json: string
    try {
      json = JSON.stringify({ room: room.persist(), seats: room.seatRecords(), at: Date.now() } satisfies SavedRoom)
    } catch (error) {
      this.reportOnce(room, new RoomError('snapshot-too-large', `room ${room.id}'s snapshot cannot be written as JSON; it will not survive its node`, { cause: error }))
      return null
    }
    if (Buffer.byteLength(json) > this.options.maxSnapshotBytes) {
      this.reportOnce(room, new RoomError('snapshot-too-large', `room ${room.id}'s snapshot is over ${this.options.maxSnapshotBytes} bytes; it will not survive its node`))
      return null
    }
    return json
  }

  // --- a clean stop ---------------------------------------------------------------------------

  /**
   * This node is stopping (its own sessions have closed): each of its rooms moves to another live
   * node, picked by the room's id, as it is at this moment. A room whose snapshot cannot be saved
   * closes, as it would without a cluster.
   */
  async handOver(): Promise<void> {
    const others = this.link.liveNodes().filter((node) => node !== this.link.node)
    if (this.closed || this.link.state !== 'clustered' || others.length === 0) return

    await this.inTurn(() => {
      for (const room of this.host.registry().localRooms()) {
        const nodes = new Set<string>()
        for (const seat of room.seatRecords()) if (seat.node !== this.link.node && this.link.live(seat.node)) nodes.add(seat.node)
        this.moving.set(room.id, nodes)
        for (const node of nodes) this.send(node, { t: 'pause', roomId: room.id })
      }
    })
    if ([...this.moving.values()].some((waiting) => waiting.size > 0)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, PAUSE_TIMEOUT_MS)
        this.paused = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    await this.inTurn(() => {
      const registry = this.host.registry()
      for (const roomId of this.moving.keys()) {
        const room = registry.local(roomId)
        const json = room === undefined ? null : this.snapshot(room)
        if (room === undefined || json === null) continue
        const to = pickFor(roomId, others)
        if (!this.link.post(to, RECORD.CONTROL, '', Buffer.from(`{"t":"handover","saved":${json}}`))) continue
        // Should the new owner die before it saves the room, a restore finds it as it left here.
        void this.snapshotKv.put(roomId, json).catch(() => {})
        // The room ends here without a word to its players: their seats go on in the new owner's copy.
        for (const seat of room.seatRecords()) {
          const member = room.member(seat.player)
          if (member instanceof RemoteMember) {
            member.leaving = true
            member.closeReason = 'server-stopping'
          }
        }
        this.stale.add(roomId)
        room.dispose()
      }
      this.moving.clear()
    })
  }

  private inTurn(task: () => void): Promise<void> {
    return new Promise<void>((resolve) => this.host.schedule(() => resolve(task())))
  }

  private reportOnce(room: Room, error: RoomError): void {
    if (this.tooLarge.has(room.id)) return
    this.tooLarge.add(room.id)
    this.host.report(error)
  }

  // --- records from other nodes ---------------------------------------------------------------

  private send(node: string, control: Control): boolean {
    return this.link.post(node, RECORD.CONTROL, '', Buffer.from(JSON.stringify(control)))
  }

  private readonly received = (from: string, kind: RecordKind, head: string, body: Buffer): void => {
    if (kind === RECORD.PLAYER) {
      // The batch is this node's copy (NatsCluster), so the room may hear a view of it in a later turn.
      this.host.schedule(() => this.playerFrame(head, body))
      return
    }
    let control: Control
    try {
      control = JSON.parse(body.toString('utf8')) as Control
    } catch {
      return
    }
    if (control.t === 'reply') this.replied(from, control)
    else this.host.schedule(() => this.heard(from, control))
  }

  /** A player's frame for this node's room, in the game loop's turn. */
  private playerFrame(head: string, body: Buffer): void {
    const space = head.indexOf(' ')
    if (space < 0 || body.length < 4) return
    this.host.registry().local(head.slice(space + 1))?.message(head.slice(0, space), { id: body.readInt32BE(0), data: body.subarray(4) })
  }

  /** A request or notice, in the game loop's turn. */
  private heard(from: string, control: Control): void {
    const registry = this.host.registry()
    switch (control.t) {
      case 'join':
      case 'create': {
        let reply: Control
        try {
          const room =
            control.t === 'join'
              ? registry.local(control.roomId)
              : registry.matchOrCreate(registry.typeOf(control.name), control.options, control.matchAny)
          if (room === undefined) throw new RoomError('room-not-found', `no room ${(control as { roomId: string }).roomId} on node ${this.link.node}`)
          if (this.moving.size > 0) throw new RoomError('room-unreachable', `node ${this.link.node} is stopping`)
          const info = room.has(control.player)
            ? room.info()
            : registry.seatMember(room, new RemoteMember(control.player, control.userId, from, this.sendFrame), control.options, control.control)
          reply = { t: 'reply', rid: control.rid, ok: true, info }
        } catch (error) {
          if (!(error instanceof RoomError)) throw error
          reply = { t: 'reply', rid: control.rid, ok: false, code: error.code, message: error.message }
        }
        this.send(from, reply)
        return
      }
      case 'leave': {
        const room = registry.local(control.roomId)
        const member = room?.member(control.player)
        if (member instanceof RemoteMember) {
          member.leaving = true
          if (control.reason !== 'left') member.closeReason = control.reason as CloseReason
        }
        room?.leave(control.player, control.reason)
        return
      }
      case 'drop':
        registry.local(control.roomId)?.dropped(control.player)
        return
      case 'resume':
        registry.local(control.roomId)?.resumed(control.player)
        return
      case 'unseated': {
        // Only from the room's node: a stale copy of a room that moved says nothing of the seat in the live one.
        const seat = registry.joined(control.player, control.roomId)
        if (seat instanceof RemoteSeat && seat.node === from) registry.unseated(seat, control.player)
        return
      }
      case 'moved': {
        const seat = registry.joined(control.player, control.roomId)
        if (seat instanceof RemoteSeat) {
          seat.node = from
          seat.last = control.info
        }
        this.entries.set(control.roomId, control.info)
        this.release(control.roomId, from)
        return
      }
      case 'pause':
        // After every record this node sent the room before: the owner's snapshot will have heard them.
        if (!this.held.has(control.roomId)) this.held.set(control.roomId, [])
        this.send(from, { t: 'paused', roomId: control.roomId })
        return
      case 'paused': {
        this.moving.get(control.roomId)?.delete(from)
        if ([...this.moving.values()].every((waiting) => waiting.size === 0)) this.paused?.()
        return
      }
      case 'handover':
        this.revive(control.saved, from)
        this.release(control.saved.room.id, this.link.node)
    }
  }

  private readonly sendFrame = (node: string, sessionId: string, frame: Uint8Array): boolean => this.link.unicastTo(node, sessionId, frame)

  private readonly entryChanged = (roomId: string, value: string | null): void => {
    if (value === null) {
      const gone = this.entries.get(roomId)
      this.entries.delete(roomId)
      // A room whose node died and that nobody could restore (no snapshot): its players here are told.
      if (gone !== undefined && !this.link.live(gone.node)) this.host.schedule(() => this.orphaned(roomId))
      return
    }
    let info: RoomInfo
    try {
      info = JSON.parse(value) as RoomInfo
    } catch {
      return // not a room entry
    }
    // This node's own rooms are known here first and better.
    if (info.node !== this.link.node || !this.entries.has(roomId)) this.entries.set(roomId, info)
    // Another node claimed a room this node still runs (it took this node for dead): this copy is stale.
    if (info.node !== this.link.node && this.host.registry().local(roomId) !== undefined) this.host.schedule(() => this.endStale(roomId))
  }

  // --- a node's death -------------------------------------------------------------------------

  /** A node died: the seats its players held in this node's rooms end; its rooms are restored (restoreOrphans). */
  private readonly nodeLost = (node: string): void => {
    this.host.schedule(() => {
      for (const room of [...this.host.registry().localRooms()]) {
        for (const seat of room.seatRecords()) if (seat.node === node) room.leave(seat.player, 'node-lost')
      }
    })
    this.restoreOrphans()
  }

  /**
   * Each room whose node is dead is restored by one live node, picked by the room's id among the
   * live nodes, so that they share the work without talking; every heartbeat looks again, so a
   * room whose picked node died too is picked again.
   */
  private readonly restoreOrphans = (): void => {
    if (this.closed) return
    const live = this.link.liveNodes()
    for (const entry of this.entries.values()) {
      if (this.link.live(entry.node) || this.restoring.has(entry.id)) continue
      if (pickFor(entry.id, live) === this.link.node) void this.restore(entry.id)
    }
  }

  private async restore(roomId: string): Promise<void> {
    this.restoring.add(roomId)
    try {
      const [entry, saved] = await Promise.all([this.directoryKv.get(roomId), this.snapshotKv.get(roomId)])
      if (entry === null || entry.operation !== 'PUT') return
      const info = JSON.parse(entry.string()) as RoomInfo
      if (this.link.live(info.node)) return
      if (saved === null || saved.operation !== 'PUT') {
        await this.directoryKv.delete(roomId, { previousSeq: entry.revision })
        return
      }
      const record = JSON.parse(saved.string()) as SavedRoom
      // The claim: only one node's compare-and-set on the entry succeeds.
      await this.directoryKv.update(roomId, JSON.stringify({ ...info, node: this.link.node }), entry.revision)
      await this.inTurn(() => this.revive(record))
    } catch {
      // Another node claimed it, or NATS went away: the next heartbeat looks again.
    } finally {
      this.restoring.delete(roomId)
    }
  }

  /** The claimed or handed-over room, running here: its players' seats back, their nodes told where it is now. */
  private revive({ room: persisted, seats }: SavedRoom, leaving?: string): void {
    const registry = this.host.registry()
    if (registry.local(persisted.id) !== undefined) return
    const members = seats.map((seat) => ({
      ...seat,
      member:
        seat.node === this.link.node
          ? (this.host.member(seat.player) ?? null)
          : seat.node !== leaving && this.link.live(seat.node)
            ? new RemoteMember(seat.player, seat.userId, seat.node, this.sendFrame)
            : null,
    }))
    const room = registry.restoreSeated(persisted, members)
    const info = room.info()
    for (const { member } of members) if (member instanceof RemoteMember) this.send(member.node, { t: 'moved', roomId: room.id, player: member.id, info })
  }

  /**
   * Back from a partition, once the directory has caught up (a heartbeat): a room of this node's
   * that another node restored meanwhile (the others took this node for dead) is stale here and
   * ends; every other one is written into the directory again, which may have dropped it.
   */
  private readonly rejoined = (): void => {
    setTimeout(
      () =>
        this.host.schedule(() => {
          for (const room of [...this.host.registry().localRooms()]) {
            const entry = this.entries.get(room.id)
            if (entry !== undefined && entry.node !== this.link.node && this.link.live(entry.node)) this.endStale(room.id)
            else this.changed(room)
          }
        }),
      this.link.heartbeat,
    ).unref()
  }

  /** Ends this node's copy of a room another node owns now; the directory entry and snapshot are that node's. */
  private endStale(roomId: string): void {
    const room = this.host.registry().local(roomId)
    if (room === undefined) return
    this.stale.add(roomId)
    room.dispose()
  }

  /** A room of a dead node that will not come back: this node's players in it leave it. */
  private orphaned(roomId: string): void {
    const registry = this.host.registry()
    for (const [player, seat] of [...registry.remoteMemberships()]) {
      if (seat.id !== roomId || !(seat instanceof RemoteSeat)) continue
      registry.unseated(seat, player)
      if (seat.control) this.host.member(player)?.send(controlFrame(ROOM_CONTROL_IDS.LEFT, { roomId, reason: 'node-lost' }))
    }
  }

  close(): void {
    this.closed = true
    clearInterval(this.timer)
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer)
      pending.reject(new RoomError('room-unreachable', 'the server is stopping'))
    }
    this.pending.clear()
  }
}

/** Which of `nodes` takes the room over (restores it, or is handed it): picked by the room's id, so nodes agree without talking. */
function pickFor(roomId: string, nodes: readonly string[]): string {
  return nodes[fnv1a(roomId) % nodes.length]!
}
