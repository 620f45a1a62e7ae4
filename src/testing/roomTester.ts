import { type AnyStateMachine, type EventObject, type InspectionEvent, type Observer, SimulatedClock, type SnapshotFrom, type StateValue } from 'xstate'
import type { LeaveReason, PlayerId, RoomEmitted } from '../../machines/room.js'
import type { RoomError } from '../errors.js'
import { FrameDecoder } from '../protocol/decoder.js'
import { isMessage, type Message } from '../protocol/message.js'
import { type PersistedRoom, Room, type RoomHost, type RoomMember, type RoomType } from '../rooms/room.js'
import { RoomTicker } from '../rooms/roomTicker.js'
import type { UserId } from '../session.js'

export interface RoomTesterOptions {
  /** @default 16 */
  maxPlayers?: number
  /** Ticks per second `tick(ms)` delivers. @default 0 (none) */
  tickRate?: number
  /** The options of the join that created the room (its `input.options`). @default {} */
  options?: Readonly<Record<string, unknown>>
  keepWhenEmpty?: boolean
  accepts?: (message: Message) => boolean
  /** @default a new SimulatedClock at 0 */
  clock?: SimulatedClock
  /** Sees the room's and seats' inspection events (e.g. `Coverage.observe`). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void)
  /** @default 'test' */
  roomId?: string
}

/**
 * A room machine run exactly as the server runs it (the same seats, routing, lock and kick rules,
 * the same tick timer), with simulated players instead of sessions and a simulated clock: what the
 * room emits and what each player would have received are captured. No socket, no server.
 */
export interface RoomTester<TMachine extends AnyStateMachine = AnyStateMachine> {
  readonly roomId: string
  readonly clock: SimulatedClock
  /** Seats a player; throws a RoomError (`room-full`, `room-not-found` once ended) as the server would. */
  join(player: PlayerId, join?: { userId?: UserId; options?: Readonly<Record<string, unknown>> }): void
  /** A frame from a player; false when the room did not take it (not seated, or not accepted). */
  message(player: PlayerId, message: Message): boolean
  /** The player's connection is lost (a server with `resume`): the room hears `player.dropped`; false if the player was not seated. */
  drop(player: PlayerId): boolean
  /** The dropped player resumes: the room hears `player.resumed`; false if the player was not dropped. */
  resume(player: PlayerId): boolean
  /** The player goes, with `reason` (a close reason for a disconnect). */
  leave(player: PlayerId, reason?: LeaveReason): boolean
  /** Advances the clock by `ms`, delivering the ticks that fall due. */
  tick(ms: number): void
  /** An event of the game's own, as `rooms.send`. */
  send(event: EventObject): void
  /** Everything the room emitted, in order. */
  readonly emitted: readonly RoomEmitted[]
  /** What reached that player (sends and broadcasts), decoded from the frames zerostate wrote. */
  received(player: PlayerId): Message[]
  readonly players: readonly PlayerId[]
  readonly snapshot: SnapshotFrom<TMachine>
  readonly state: StateValue
  /** The room's machine reached a final state or failed, and the room is gone. */
  readonly ended: boolean
  /** Matching would not pick it: full or locked. */
  readonly locked: boolean
  readonly metadata: Readonly<Record<string, unknown>>
  /** `room-failed` and the like, as `onError` would hear them. */
  readonly errors: readonly RoomError[]
  persist(): PersistedRoom
}

/** Starts a room of `machine` with simulated players. */
export function createRoomTester<TMachine extends AnyStateMachine>(machine: TMachine, options: RoomTesterOptions = {}): RoomTester<TMachine> {
  return new Tester(machine, options, undefined)
}

/** A room restored from a snapshot (`rooms.snapshot` or `tester.persist()`), with simulated players. */
export function restoreRoomTester<TMachine extends AnyStateMachine>(
  machine: TMachine,
  persisted: PersistedRoom,
  options: RoomTesterOptions = {},
): RoomTester<TMachine> {
  return new Tester(machine, options, persisted)
}

class SimulatedPlayer implements RoomMember {
  readonly received: Message[] = []
  closeReason = null
  private readonly decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER - 12)
  private readonly frames: Message[] = []

  constructor(
    readonly id: PlayerId,
    readonly userId: UserId | undefined,
  ) {}

  send(message: Message): boolean {
    if (!isMessage(message)) return false
    this.received.push({ id: message.id, data: Uint8Array.from(message.data) })
    return true
  }

  queue(frame: Buffer): boolean {
    this.frames.length = 0
    this.decoder.push(frame, this.frames)
    for (const message of this.frames) this.received.push({ id: message.id, data: Uint8Array.from(message.data) })
    return true
  }
}

class Tester<TMachine extends AnyStateMachine> implements RoomTester<TMachine>, RoomHost {
  readonly roomId: string
  readonly clock: SimulatedClock
  readonly inspect: RoomHost['inspect']
  readonly node = 'local'
  readonly emitted: RoomEmitted[] = []
  readonly errors: RoomError[] = []
  ended = false
  private readonly room: Room
  private readonly ticker: RoomTicker
  private readonly members = new Map<PlayerId, SimulatedPlayer>()

  constructor(machine: TMachine, options: RoomTesterOptions, restored: PersistedRoom | undefined) {
    this.clock = options.clock ?? new SimulatedClock()
    this.inspect = options.inspect
    this.roomId = restored?.id ?? options.roomId ?? 'test'
    const type: RoomType = {
      name: restored?.name ?? machine.id,
      machine,
      maxPlayers: options.maxPlayers ?? 16,
      tickRate: options.tickRate ?? 0,
      keepWhenEmpty: options.keepWhenEmpty ?? true,
      accepts: options.accepts ?? (() => true),
      metadata: (joinOptions) => joinOptions,
    }
    this.room = new Room(this.roomId, type, options.options ?? {}, this, restored)
    this.room.actor.on('*', (event) => void this.emitted.push(event as RoomEmitted))
    this.ticker = new RoomTicker(this.clock)
    this.ticker.add({ tickRate: type.tickRate, tick: (now) => this.room.tick(now) })
  }

  join(player: PlayerId, join: { userId?: UserId; options?: Readonly<Record<string, unknown>> } = {}): void {
    const member = new SimulatedPlayer(player, join.userId)
    this.members.set(player, member)
    this.room.seat(member, join.options ?? {}, false)
  }

  message(player: PlayerId, message: Message): boolean {
    return this.room.message(player, message)
  }

  drop(player: PlayerId): boolean {
    return this.room.dropped(player)
  }

  resume(player: PlayerId): boolean {
    return this.room.resumed(player)
  }

  leave(player: PlayerId, reason: LeaveReason = 'left'): boolean {
    return this.room.leave(player, reason)
  }

  tick(ms: number): void {
    this.clock.increment(ms)
  }

  send(event: EventObject): void {
    this.room.send(event)
  }

  received(player: PlayerId): Message[] {
    return this.members.get(player)?.received ?? []
  }

  get players(): PlayerId[] {
    return this.room.players
  }

  get snapshot(): SnapshotFrom<TMachine> {
    return this.room.actor.getSnapshot() as SnapshotFrom<TMachine>
  }

  get state(): StateValue {
    return this.room.actor.getSnapshot().value
  }

  get locked(): boolean {
    return this.room.info().locked
  }

  get metadata(): Readonly<Record<string, unknown>> {
    return this.room.info().metadata
  }

  persist(): PersistedRoom {
    return this.room.persist()
  }

  disposed(): void {
    this.ended = true
    this.ticker.stop()
  }

  unseated(): void {}

  changed(): void {}

  report(error: RoomError): void {
    this.errors.push(error)
  }
}
