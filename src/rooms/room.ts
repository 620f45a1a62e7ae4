import { type Actor, type AnyStateMachine, createActor, type EventObject, type Snapshot, type StateValue } from 'xstate'
import type { LeaveReason, PlayerId, RoomEmitted, RoomEvent, RoomInput } from '../../machines/room.js'
import { type SeatEvent, type SeatMachine, seatMachine } from '../../machines/seat.js'
import type { CloseReason } from '../errors.js'
import { RoomError } from '../errors.js'
import type { Clock, Inspect } from '../options.js'
import { encodeFrame } from '../protocol/encoder.js'
import { isMessage, type Message } from '../protocol/message.js'
import type { UserId } from '../session.js'
import { controlFrame, ROOM_CONTROL_IDS } from './roomControl.js'

/** What a room needs of a player's session: the server's sessions are these. */
export interface RoomMember {
  readonly id: string
  readonly userId: UserId | undefined
  readonly closeReason: CloseReason | null
  /** In a cluster, the node that holds a player of another node's (src/cluster/remoteMember.ts); absent for this node's sessions. */
  readonly node?: string
  send(message: Message): boolean
  /** Queues an encoded frame: a broadcast shares one buffer among every player. */
  queue(frame: Buffer): boolean
}

/** A room type, as `server.room(name, definition)` registered it, defaults filled in. */
export interface RoomType {
  readonly name: string
  readonly machine: AnyStateMachine
  readonly maxPlayers: number
  /** Ticks per second; 0: the room hears no ticks. */
  readonly tickRate: number
  readonly keepWhenEmpty: boolean
  /** Which of a player's frames this room takes; others go on to its other rooms and `onMessage`. */
  readonly accepts: (message: Message) => boolean
  readonly metadata: (options: Readonly<Record<string, unknown>>) => Readonly<Record<string, unknown>>
}

/** What `rooms.list()` and matching show of a room. */
export interface RoomInfo {
  readonly id: string
  readonly name: string
  readonly players: readonly PlayerId[]
  readonly maxPlayers: number
  /** The room machine's state value. */
  readonly state: StateValue
  /** Full, or locked by the room. */
  readonly locked: boolean
  readonly metadata: Readonly<Record<string, unknown>>
  /** The node that owns the room: the server's `node` (`'local'` outside a cluster). */
  readonly node: string
}

/** A seat as a cluster's snapshot of the room keeps it, to seat the player again elsewhere. */
export interface SeatRecord {
  readonly player: PlayerId
  readonly userId: UserId | undefined
  /** The node that holds the player's session. */
  readonly node: string
  readonly control: boolean
  readonly dropped: boolean
}

/** A room saved with `rooms.snapshot(id)`, to be restored with `rooms.restore(...)`. */
export interface PersistedRoom {
  readonly id: string
  readonly name: string
  /** The room machine's persisted snapshot (`actor.getPersistedSnapshot()`), JSON-safe if its context is. */
  readonly snapshot: Snapshot<unknown>
  readonly input: RoomInput
  readonly locked: boolean
  readonly metadata: Readonly<Record<string, unknown>>
  readonly ticks: number
}

/** What a room reports to the registry that owns it. */
export interface RoomHost {
  readonly clock: Clock
  readonly inspect: Inspect | undefined
  readonly node: string
  /** Its seats, lock or metadata changed: what matching sees of it. */
  changed(room: Room): void
  /** The room is gone: forget it and its memberships. */
  disposed(room: Room): void
  /** A player's seat is gone (kicked, left, room closed): forget the membership. */
  unseated(room: Room, player: PlayerId, member: RoomMember): void
  report(error: RoomError): void
}

interface Seat {
  readonly member: RoomMember
  readonly actor: Actor<SeatMachine>
  /** Joined through the control protocol: told JOINED and LEFT in control frames. */
  readonly control: boolean
}

/**
 * One room: the user's machine as an actor named `room:<name>:<id>`, one seat actor per player,
 * and the translation of what the machine emits into frames. Everything here runs inside the
 * game-logic actor's turn, so a room sees its events strictly in arrival order.
 */
export class Room {
  readonly actor: Actor<AnyStateMachine>
  readonly input: RoomInput
  private readonly seats = new Map<PlayerId, Seat>()
  private lockedByRoom = false
  private metadata: Readonly<Record<string, unknown>>
  private closed = false
  private lastTick: number
  private ticks: number

  constructor(
    readonly id: string,
    readonly type: RoomType,
    options: Readonly<Record<string, unknown>>,
    private readonly host: RoomHost,
    restored?: PersistedRoom,
  ) {
    this.input = restored?.input ?? { roomId: id, name: type.name, maxPlayers: type.maxPlayers, options }
    this.metadata = restored?.metadata ?? type.metadata(options)
    this.lockedByRoom = restored?.locked ?? false
    this.ticks = restored?.ticks ?? 0
    this.lastTick = host.clock.now()
    this.actor = createActor(type.machine, {
      id: `room:${type.name}:${id}`,
      input: this.input,
      clock: host.clock,
      inspect: host.inspect,
      ...(restored === undefined ? {} : { snapshot: restored.snapshot }),
    })
    this.actor.on('*', this.emitted)
    this.actor.subscribe({ complete: this.completed, error: this.failed })
    this.actor.start()
  }

  get players(): PlayerId[] {
    return [...this.seats.keys()]
  }

  /** Matching may pick it: not closed, not full, not locked by the room. */
  get open(): boolean {
    return this.hasRoom && !this.lockedByRoom
  }

  /** A free seat, for a join by id: a locked room is only kept out of matching. */
  get hasRoom(): boolean {
    return !this.closed && this.seats.size < this.type.maxPlayers
  }

  has(player: PlayerId): boolean {
    return this.seats.has(player)
  }

  /** The seated player's session, or (in a cluster) its stand-in for another node's. */
  member(player: PlayerId): RoomMember | undefined {
    return this.seats.get(player)?.member
  }

  info(): RoomInfo {
    return {
      id: this.id,
      name: this.type.name,
      players: this.players,
      maxPlayers: this.type.maxPlayers,
      state: this.actor.getSnapshot().value,
      locked: !this.open,
      metadata: this.metadata,
      node: this.host.node,
    }
  }

  /** Its seats, as a cluster's snapshot keeps them. */
  seatRecords(): SeatRecord[] {
    const records: SeatRecord[] = []
    for (const [player, { member, actor, control }] of this.seats) {
      records.push({ player, userId: member.userId, node: member.node ?? this.host.node, control, dropped: actor.getSnapshot().value === 'dropped' })
    }
    return records
  }

  matches(filter: ((metadata: Readonly<Record<string, unknown>>) => boolean) | undefined): boolean {
    return filter === undefined || filter(this.metadata) === true
  }

  /**
   * Seats a player: the seat is reserved (and counts) first, then the room hears `player.joined`
   * and the seat is taken. Both happen in this call, so no other join can come between them.
   */
  seat(member: RoomMember, options: Readonly<Record<string, unknown>>, control: boolean): void {
    if (!this.hasRoom) throw new RoomError(this.closed ? 'room-not-found' : 'room-full', `room ${this.id} takes no more players`)
    const actor = createActor(seatMachine, {
      id: `seat:${this.id}:${member.id}`,
      input: { player: member.id, roomId: this.id },
      inspect: this.host.inspect,
    })
    actor.start()
    const seat: Seat = { member, actor, control }
    this.seats.set(member.id, seat)
    if (control) member.send(controlFrame(ROOM_CONTROL_IDS.JOINED, { roomId: this.id, name: this.type.name }))
    this.deliver({ type: 'player.joined', player: member.id, userId: member.userId, options })
    // The room may have kicked the player, or ended, while hearing the join.
    if (this.seats.get(member.id) === seat) actor.send({ type: 'seat.take' })
    this.host.changed(this)
  }

  /** A player back in its seat in a restored room, which knows the player from its snapshot: no `player.joined`. */
  reseat(member: RoomMember, control: boolean, dropped: boolean): void {
    const actor = createActor(seatMachine, { id: `seat:${this.id}:${member.id}`, input: { player: member.id, roomId: this.id }, inspect: this.host.inspect })
    actor.start()
    actor.send({ type: 'seat.take' })
    if (dropped) actor.send({ type: 'seat.drop' })
    this.seats.set(member.id, { member, actor, control })
  }

  /** A player of the restored room's snapshot who has no seat to come back to (its node is gone): the room hears it left. */
  forget(player: PlayerId, reason: LeaveReason): void {
    if (!this.closed && !this.seats.has(player)) this.deliver({ type: 'player.left', player, reason })
  }

  /** A frame from a player: the room hears it only while the player's seat is taken. */
  message(player: PlayerId, message: Message): boolean {
    const seat = this.seats.get(player)
    if (seat === undefined || !seat.actor.getSnapshot().hasTag('seated') || !this.type.accepts(message)) return false
    this.deliver({ type: 'player.message', player, message })
    return true
  }

  /** The player's connection was lost (with `resume`): a seated player's seat is dropped, and the room hears it. */
  dropped(player: PlayerId): boolean {
    return this.moveSeat(player, 'seated', { type: 'seat.drop' }, { type: 'player.dropped', player })
  }

  /** The player resumed: a dropped seat is seated again, and the room hears it. */
  resumed(player: PlayerId): boolean {
    return this.moveSeat(player, 'dropped', { type: 'seat.resume' }, { type: 'player.resumed', player })
  }

  private moveSeat(player: PlayerId, from: 'seated' | 'dropped', event: SeatEvent, heard: RoomEvent): boolean {
    const seat = this.seats.get(player)
    if (this.closed || seat === undefined || seat.actor.getSnapshot().value !== from) return false
    seat.actor.send(event)
    this.deliver(heard)
    return true
  }

  /** The player's seat goes; the room hears `player.left` unless it has ended. */
  leave(player: PlayerId, reason: LeaveReason): boolean {
    const seat = this.seats.get(player)
    if (seat === undefined) return false
    this.seats.delete(player)
    seat.actor.send({ type: 'seat.leave', reason })
    seat.actor.stop()
    this.host.unseated(this, player, seat.member)
    if (seat.control && seat.member.closeReason === null) seat.member.send(controlFrame(ROOM_CONTROL_IDS.LEFT, { roomId: this.id, reason }))
    if (!this.closed) this.deliver({ type: 'player.left', player, reason })
    if (this.seats.size === 0 && !this.type.keepWhenEmpty) this.dispose()
    else if (!this.closed) this.host.changed(this)
    return true
  }

  tick(now: number): void {
    if (this.closed) return
    const elapsed = now - this.lastTick
    this.lastTick = now
    this.deliver({ type: 'room.tick', elapsed, tick: ++this.ticks })
  }

  /** Sends the room machine an event of the game's own (an admin command, a timer of its own). */
  send(event: EventObject): void {
    if (!this.closed) this.actor.send(event)
  }

  persist(): PersistedRoom {
    return {
      id: this.id,
      name: this.type.name,
      snapshot: this.actor.getPersistedSnapshot(),
      input: this.input,
      locked: this.lockedByRoom,
      metadata: this.metadata,
      ticks: this.ticks,
    }
  }

  /** Ends the room: every player leaves with `room-closed` (the room, having ended, hears none of it). */
  dispose(): void {
    if (this.closed) return
    this.closed = true
    for (const player of [...this.seats.keys()]) this.leave(player, 'room-closed')
    this.actor.stop()
    this.host.disposed(this)
  }

  /** Every event a room hears goes through here, typed as what a room machine hears. */
  private deliver(event: RoomEvent): void {
    this.actor.send(event)
  }

  /** What the machine emits, as frames and seat changes. Never throws: XState would report it as unhandled. */
  private readonly emitted = (event: EventObject): void => {
    try {
      this.apply(event as RoomEmitted)
    } catch (error) {
      this.host.report(new RoomError('room-failed', `room ${this.id} emitted ${event.type} and it failed`, { cause: error }))
    }
  }

  private apply(event: RoomEmitted): void {
    switch (event.type) {
      case 'send':
        this.seats.get(event.to)?.member.send(event.message)
        return
      case 'broadcast': {
        if (!isMessage(event.message)) return
        const frame = encodeFrame(event.message.id, event.message.data)
        const except = event.except
        for (const seat of this.seats.values()) if (seat.member.id !== except) seat.member.queue(frame)
        return
      }
      case 'kick':
        // The seat goes now, so none of the player's later frames reach the room; the room hears
        // `player.left` right after the transition that emitted the kick (XState queues it).
        this.leave(event.player, 'kicked')
        return
      case 'lock':
        this.lockedByRoom = true
        this.host.changed(this)
        return
      case 'unlock':
        this.lockedByRoom = false
        this.host.changed(this)
        return
      case 'metadata':
        this.metadata = event.metadata
        this.host.changed(this)
        return
    }
  }

  private readonly completed = (): void => {
    this.dispose()
  }

  private readonly failed = (error: unknown): void => {
    this.host.report(new RoomError('room-failed', `room ${this.id} (${this.type.name}) failed and was stopped`, { cause: error }))
    this.closed = true
    for (const player of [...this.seats.keys()]) this.leave(player, 'room-failed')
    this.host.disposed(this)
  }
}
