import { randomBytes } from 'node:crypto'
import type { AnyStateMachine, EventObject } from 'xstate'
import type { LeaveReason, PlayerId } from '../../machines/room.js'
import { OptionError, RoomError, type SessionClosedError, type ZerostateError } from '../errors.js'
import type { MessageRouter } from '../gameLoop.js'
import { type Clock, type Inspect, quote } from '../options.js'
import type { Message } from '../protocol/message.js'
import type { Session } from '../session.js'
import { type PersistedRoom, Room, type RoomHost, type RoomInfo, type RoomMember, type RoomType, type SeatRecord } from './room.js'
import { controlBody, controlFrame, isControlId, ROOM_CONTROL_IDS } from './roomControl.js'
import { RoomTicker, type TickSchedule } from './roomTicker.js'

/** A room type as the game defines it with `server.room(name, definition)`. */
export interface RoomDefinition {
  /** The room's chart: hears {@link RoomEvent}s, emits {@link RoomEmitted}, started with {@link RoomInput}. */
  machine: AnyStateMachine
  /** Seats per room; a full room is locked. */
  maxPlayers: number
  /** Ticks per second the room hears as `room.tick` (from one server timer for all rooms). 0 or absent: none. */
  tickRate?: number
  /** Keep a room after its last player leaves (it ends when its machine does). @default false */
  keepWhenEmpty?: boolean
  /**
   * Which of a player's frames the room takes, for a session in several rooms (a lobby chat and a
   * match): the most recently joined room that accepts a frame gets it. @default every frame
   */
  accepts?: (message: Message) => boolean
  /** A new room's metadata, from the options of the join that created it. @default the options */
  metadata?: (options: Readonly<Record<string, unknown>>) => Readonly<Record<string, unknown>>
}

export interface JoinOptions {
  /** Passed to the room as `player.joined`'s `options` (and to `metadata` for a new room). */
  options?: Readonly<Record<string, unknown>>
  /** Only rooms whose metadata passes; a new room is created when none does. */
  filter?: (metadata: Readonly<Record<string, unknown>>) => boolean
}

/** Matching, lifecycle and routing of the server's rooms. Its methods run inside game handlers. */
export interface Rooms {
  /** Seats the session in an open room of that type (matching `filter`), or in a new one. */
  joinOrCreate(session: Session, name: string, join?: JoinOptions): RoomInfo
  /** Seats the session in that room. */
  join(session: Session, roomId: string, join?: Omit<JoinOptions, 'filter'>): RoomInfo
  /** Takes the session out of that room, or out of every room; false if it was in none of them. */
  leave(session: Session, roomId?: string): boolean
  /** Every room, or every room of one type. */
  list(name?: string): RoomInfo[]
  /** The rooms the session is in, in the order it joined them. */
  of(session: Session): RoomInfo[]
  get(roomId: string): RoomInfo | undefined
  /** Sends the room's machine an event of the game's own. False if there is no such room. */
  send(roomId: string, event: EventObject): boolean
  /** The room's state, to save now and restore later or elsewhere. */
  snapshot(roomId: string): PersistedRoom
  /** Creates a room from a snapshot; its players come back with `join(session, id)`. */
  restore(persisted: PersistedRoom): RoomInfo
  /**
   * `joinOrCreate` across a cluster: an open room of that type on any node (the seat reserved on
   * the node that owns it), or a new one on the least loaded node. Without a cluster, the same as
   * `joinOrCreate`. Rejects with a {@link RoomError}.
   */
  matchmake(session: Session, name: string, join?: JoinOptions): Promise<RoomInfo>
  /** `join` across a cluster: that room, on whichever node owns it. */
  joinById(session: Session, roomId: string, join?: Omit<JoinOptions, 'filter'>): Promise<RoomInfo>
  /** Every node's rooms, as the cluster's directory says (each with its `node`); without a cluster, `list`. */
  directory(name?: string): RoomInfo[]
}

/** A room a session is in: one of this node's, or in a cluster a seat in a room another node owns. */
export interface Joined {
  readonly id: string
  readonly type: RoomType
  matches(filter: JoinOptions['filter']): boolean
  info(): RoomInfo
  /** A frame from the player; false if this room does not take it. */
  message(player: PlayerId, message: Message): boolean
  dropped(player: PlayerId): boolean
  resumed(player: PlayerId): boolean
  leave(player: PlayerId, reason: LeaveReason): boolean
}

/** What the registry asks of a cluster (src/cluster/clusterRooms.ts): the single process has none. */
export interface RoomCluster {
  matchmake(member: RoomMember, type: RoomType, join: JoinOptions, control: boolean): Promise<RoomInfo>
  joinById(member: RoomMember, roomId: string, join: Omit<JoinOptions, 'filter'>, control: boolean): Promise<RoomInfo>
  directory(name?: string): RoomInfo[]
  /** This node's room was created, changed (seats, lock, metadata) or is gone: the directory learns it. */
  created(room: Room): void
  changed(room: Room): void
  disposed(room: Room): void
  /** A seat of this node's room, whose player is on another node, ended here. */
  left(member: RoomMember, roomId: string): void
}

export interface RoomRegistryOptions {
  clock: Clock
  inspect: Inspect | undefined
  /** The open session with that id (rooms accept only the server's own sessions). */
  member(session: Session): RoomMember | undefined
  /** Runs a task in the game loop's turn: ticks are serialized with every handler. */
  schedule(task: () => void): void
  /** This server's node id (`'local'` outside a cluster), each room's `node`. */
  node: string
  report(error: ZerostateError): void
}

type Schedule = TickSchedule & { readonly type: RoomType; rooms: number }

/**
 * The rooms of one server. Joins are synchronous and run inside the game-logic actor's turn, so
 * matching and seating cannot interleave: a room never overfills, and since a session's
 * disconnect is queued behind whatever handler is running, its leave always follows its join.
 */
export class RoomRegistry implements Rooms, MessageRouter, RoomHost {
  readonly clock: Clock
  readonly inspect: Inspect | undefined
  readonly node: string
  private readonly types = new Map<string, RoomType>()
  private readonly schedules = new Map<RoomType, Schedule>()
  private readonly rooms = new Map<string, Room>()
  /** Session id → the rooms it is in, in join order. */
  private readonly memberships = new Map<string, Joined[]>()
  private readonly ticker: RoomTicker
  /** Set once the server has joined a cluster. */
  cluster: RoomCluster | null = null

  constructor(private readonly options: RoomRegistryOptions) {
    this.clock = options.clock
    this.inspect = options.inspect
    this.node = options.node
    this.ticker = new RoomTicker(options.clock)
  }

  define(name: string, definition: RoomDefinition): void {
    if (typeof name !== 'string' || name === '') throw new OptionError(`Expected a room type name, got ${quote(name)}`, 'name')
    if (this.types.has(name)) throw new OptionError(`Room type \`${name}\` is already defined`, 'name')
    const { machine, maxPlayers, tickRate = 0, keepWhenEmpty = false, accepts = acceptAll, metadata = sameOptions } = definition ?? ({} as RoomDefinition)
    if (typeof machine?.transition !== 'function') throw new OptionError(`Expected \`machine\` to be an XState machine, got ${quote(machine)}`, 'machine')
    if (!Number.isInteger(maxPlayers) || maxPlayers < 1) throw new OptionError(`Expected \`maxPlayers\` to be an integer from 1 up, got ${quote(maxPlayers)}`, 'maxPlayers')
    if (typeof tickRate !== 'number' || !(tickRate >= 0 && tickRate <= 1000)) {
      throw new OptionError(`Expected \`tickRate\` to be 0 (none) or a number of ticks per second up to 1000, got ${quote(tickRate)}`, 'tickRate')
    }
    if (typeof keepWhenEmpty !== 'boolean') throw new OptionError(`Expected \`keepWhenEmpty\` to be a boolean, got ${quote(keepWhenEmpty)}`, 'keepWhenEmpty')
    if (typeof accepts !== 'function') throw new OptionError(`Expected \`accepts\` to be a function, got ${quote(accepts)}`, 'accepts')
    if (typeof metadata !== 'function') throw new OptionError(`Expected \`metadata\` to be a function, got ${quote(metadata)}`, 'metadata')
    const type: RoomType = { name, machine, maxPlayers, tickRate, keepWhenEmpty, accepts, metadata }
    this.types.set(name, type)
    this.schedules.set(type, { type, tickRate, rooms: 0, tick: (now) => this.options.schedule(() => this.tick(type, now)) })
  }

  joinOrCreate(session: Session, name: string, join: JoinOptions = {}): RoomInfo {
    const type = this.typeOf(name)
    const member = this.memberOf(session)
    const already = this.joinedOf(member.id, type, join.filter)
    if (already !== undefined) return already.info()
    const room = this.match(type, join.filter) ?? this.create(type, join.options ?? {})
    return this.seat(room, member, join.options ?? {}, false)
  }

  async matchmake(session: Session, name: string, join: JoinOptions = {}): Promise<RoomInfo> {
    if (this.cluster === null) return this.joinOrCreate(session, name, join)
    return this.matchmakeAnywhere(this.memberOf(session), this.typeOf(name), join, false)
  }

  async joinById(session: Session, roomId: string, join: Omit<JoinOptions, 'filter'> = {}): Promise<RoomInfo> {
    if (this.cluster === null || this.rooms.has(roomId)) return this.join(session, roomId, join)
    const member = this.memberOf(session)
    const already = this.memberships.get(member.id)?.find((joined) => joined.id === roomId)
    return already?.info() ?? this.cluster.joinById(member, roomId, join, false)
  }

  directory(name?: string): RoomInfo[] {
    return this.cluster?.directory(name) ?? this.list(name)
  }

  /** The session's room of that type (matching `filter`), if it is in one. */
  private joinedOf(player: PlayerId, type: RoomType, filter: JoinOptions['filter']): Joined | undefined {
    return this.memberships.get(player)?.find((joined) => joined.type === type && joined.matches(filter))
  }

  /** In a cluster: a room it is in already, then one of this node's, then the cluster's matching. */
  private matchmakeAnywhere(member: RoomMember, type: RoomType, join: JoinOptions, control: boolean): Promise<RoomInfo> {
    const already = this.joinedOf(member.id, type, join.filter)
    if (already !== undefined) return Promise.resolve(already.info())
    const local = this.match(type, join.filter)
    if (local !== undefined) return Promise.resolve(this.seat(local, member, join.options ?? {}, control))
    return this.cluster!.matchmake(member, type, join, control)
  }

  join(session: Session, roomId: string, join: Omit<JoinOptions, 'filter'> = {}): RoomInfo {
    const member = this.memberOf(session)
    const room = this.rooms.get(roomId)
    if (room === undefined) throw new RoomError('room-not-found', `no room ${roomId}`)
    if (room.has(member.id)) return room.info()
    return this.seat(room, member, join.options ?? {}, false)
  }

  leave(session: Session, roomId?: string): boolean {
    return this.leaveAll(session.id, roomId, 'left')
  }

  list(name?: string): RoomInfo[] {
    const out: RoomInfo[] = []
    for (const room of this.rooms.values()) if (name === undefined || room.type.name === name) out.push(room.info())
    return out
  }

  of(session: Session): RoomInfo[] {
    return (this.memberships.get(session.id) ?? []).map((room) => room.info())
  }

  get(roomId: string): RoomInfo | undefined {
    return this.rooms.get(roomId)?.info() ?? this.cluster?.directory().find((room) => room.id === roomId)
  }

  send(roomId: string, event: EventObject): boolean {
    const room = this.rooms.get(roomId)
    room?.send(event)
    return room !== undefined
  }

  snapshot(roomId: string): PersistedRoom {
    const room = this.rooms.get(roomId)
    if (room === undefined) throw new RoomError('room-not-found', `no room ${roomId}`)
    return room.persist()
  }

  restore(persisted: PersistedRoom): RoomInfo {
    const type = this.typeOf(persisted.name)
    if (this.rooms.has(persisted.id)) throw new RoomError('room-exists', `room ${persisted.id} already exists`)
    return this.create(type, persisted.input.options, persisted).info()
  }

  // --- MessageRouter: called by the game loop, in its turn -----------------------------------

  route(session: Session, message: Message): boolean {
    if (isControlId(message.id)) {
      this.control(session, message)
      return true
    }
    const mine = this.memberships.get(session.id)
    if (mine === undefined) return false
    for (let i = mine.length - 1; i >= 0; i--) if (mine[i]!.message(session.id, message)) return true
    return false
  }

  disconnected(session: Session, error: SessionClosedError): void {
    this.leaveAll(session.id, undefined, error.code)
  }

  /** The session lost its connection and waits to resume: its rooms hear `player.dropped`. */
  dropped(session: Session): void {
    for (const room of [...(this.memberships.get(session.id) ?? [])]) room.dropped(session.id)
  }

  /** The session resumed: its rooms hear `player.resumed`. */
  resumed(session: Session): void {
    for (const room of [...(this.memberships.get(session.id) ?? [])]) room.resumed(session.id)
  }

  // --- RoomHost --------------------------------------------------------------------------------

  disposed(room: Room): void {
    if (!this.rooms.delete(room.id)) return
    const schedule = this.schedules.get(room.type)!
    if (--schedule.rooms === 0) this.ticker.remove(schedule)
    this.cluster?.disposed(room)
  }

  changed(room: Room): void {
    this.cluster?.changed(room)
  }

  unseated(room: Joined, player: PlayerId, member?: RoomMember): void {
    if (member?.node !== undefined) this.cluster?.left(member, room.id)
    const mine = this.memberships.get(player)
    if (mine === undefined) return
    const at = mine.indexOf(room)
    if (at >= 0) mine.splice(at, 1)
    if (mine.length === 0) this.memberships.delete(player)
  }

  report(error: RoomError): void {
    this.options.report(error)
  }

  /** The server is stopping: every room ends. */
  stop(): void {
    this.ticker.stop()
    for (const room of [...this.rooms.values()]) room.dispose()
  }

  // --- inside ----------------------------------------------------------------------------------

  // --- what a cluster (src/cluster/clusterRooms.ts) does with this node's rooms ---------------

  /** This node's room, or undefined. */
  local(roomId: string): Room | undefined {
    return this.rooms.get(roomId)
  }

  /** This node's rooms. */
  localRooms(): IterableIterator<Room> {
    return this.rooms.values()
  }

  /** An open room of this node's of that type, or a new one. */
  matchOrCreate(type: RoomType, options: Readonly<Record<string, unknown>>, matchAny: boolean): Room {
    return (matchAny ? this.match(type, undefined) : undefined) ?? this.create(type, options)
  }

  /** Seats a member (a session of this node, or a player of another) in this node's room. */
  seatMember(room: Room, member: RoomMember, options: Readonly<Record<string, unknown>>, control: boolean): RoomInfo {
    return this.seat(room, member, options, control)
  }

  /** A session of this node is in a room another node owns. */
  joinedRemote(player: PlayerId, joined: Joined): void {
    let mine = this.memberships.get(player)
    if (mine === undefined) this.memberships.set(player, (mine = []))
    if (!mine.some((other) => other.id === joined.id)) mine.push(joined)
  }

  /** The session's membership of that room (this node's or another's). */
  joined(player: PlayerId, roomId: string): Joined | undefined {
    return this.memberships.get(player)?.find((joined) => joined.id === roomId)
  }

  /** Every membership of a room another node owns, with its player. */
  *remoteMemberships(): IterableIterator<[PlayerId, Joined]> {
    for (const [player, mine] of this.memberships) for (const joined of mine) if (!(joined instanceof Room)) yield [player, joined]
  }

  /**
   * A room another node owned, restored here from its snapshot with its seats: each player comes
   * back to its seat without a `player.joined` (the room's state has it already); players whose
   * node is gone leave with `node-lost`.
   */
  restoreSeated(persisted: PersistedRoom, seats: readonly (SeatRecord & { member: RoomMember | null })[]): Room {
    const room = this.create(this.typeOf(persisted.name), persisted.input.options, persisted)
    for (const seat of seats) {
      if (seat.member === null) continue
      // A player of this node was in the room while another node owned it.
      const mine = (this.memberships.get(seat.member.id) ?? []).filter((joined) => joined.id !== room.id)
      this.memberships.set(seat.member.id, mine)
      mine.push(room)
      room.reseat(seat.member, seat.control, seat.dropped)
    }
    for (const seat of seats) if (seat.member === null) room.forget(seat.player, 'node-lost')
    return room
  }

  typeOf(name: string): RoomType {
    const type = this.types.get(name)
    if (type === undefined) throw new RoomError('unknown-room-type', `no room type \`${String(name)}\` (define it with server.room())`)
    return type
  }

  memberOf(session: Session): RoomMember {
    const member = this.options.member(session)
    if (member === undefined || member.closeReason !== null) throw new RoomError('session-closed', `session ${session?.id} is closed`)
    return member
  }

  /** The first open room of the type whose metadata passes `filter`. */
  private match(type: RoomType, filter: JoinOptions['filter']): Room | undefined {
    for (const room of this.rooms.values()) if (room.type === type && room.open && room.matches(filter)) return room
    return undefined
  }

  private create(type: RoomType, options: Readonly<Record<string, unknown>>, restored?: PersistedRoom): Room {
    const id = restored?.id ?? newRoomId()
    const room = new Room(id, type, options, this, restored)
    this.rooms.set(id, room)
    const schedule = this.schedules.get(type)!
    if (schedule.rooms++ === 0) this.ticker.add(schedule)
    this.cluster?.created(room)
    return room
  }

  private seat(room: Room, member: RoomMember, options: Readonly<Record<string, unknown>>, control: boolean): RoomInfo {
    let mine = this.memberships.get(member.id)
    if (mine === undefined) this.memberships.set(member.id, (mine = []))
    mine.push(room)
    try {
      room.seat(member, options, control)
    } catch (error) {
      this.unseated(room, member.id)
      throw error
    }
    return room.info()
  }

  private leaveAll(player: PlayerId, roomId: string | undefined, reason: LeaveReason): boolean {
    const mine = this.memberships.get(player)
    if (mine === undefined) return false
    let left = false
    for (const room of [...mine].reverse()) if (roomId === undefined || room.id === roomId) left = room.leave(player, reason) || left
    return left
  }

  private tick(type: RoomType, now: number): void {
    for (const room of this.rooms.values()) if (room.type === type) room.tick(now)
  }

  /**
   * A control frame from a client: JOIN or LEAVE, answered with JOINED, LEFT or REFUSED. In a
   * cluster a JOIN matches across nodes, and the answer comes when the owning node has seated it.
   */
  private control(session: Session, message: Message): void {
    const member = this.options.member(session)
    if (member === undefined) return
    const body = controlBody(message)
    const refuse = (error: unknown): void => {
      if (!(error instanceof RoomError)) throw error
      if (member.closeReason === null) member.send(controlFrame(ROOM_CONTROL_IDS.REFUSED, { code: error.code, message: error.message }))
    }
    try {
      if (body === null) throw new RoomError('room-not-found', 'a control frame must carry a JSON object')
      if (message.id === ROOM_CONTROL_IDS.JOIN) {
        const options = isRecord(body.options) ? body.options : {}
        if (typeof body.roomId === 'string') {
          const room = this.rooms.get(body.roomId)
          if (room === undefined && this.cluster !== null) {
            if (this.joined(member.id, body.roomId) === undefined) this.cluster.joinById(member, body.roomId, { options }, true).catch(refuse)
            return
          }
          if (room === undefined) throw new RoomError('room-not-found', `no room ${body.roomId}`)
          if (!room.has(member.id)) this.seat(room, member, options, true)
        } else {
          const type = this.typeOf(String(body.name))
          if (this.cluster !== null) {
            this.matchmakeAnywhere(member, type, { options }, true).catch(refuse)
            return
          }
          this.seat(this.match(type, undefined) ?? this.create(type, options), member, options, true)
        }
      } else if (message.id === ROOM_CONTROL_IDS.LEAVE) {
        this.leaveAll(member.id, typeof body.roomId === 'string' ? body.roomId : undefined, 'left')
      }
    } catch (error) {
      refuse(error)
    }
  }
}

function acceptAll(): boolean {
  return true
}

function sameOptions(options: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  return options
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** 64 random bits, base64url: unguessable, short enough for an actor id. */
function newRoomId(): string {
  return randomBytes(8).toString('base64url')
}
