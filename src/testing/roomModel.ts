import { getShortestPaths } from '@xstate/graph'
import { type AnyMachineSnapshot, type AnyStateMachine, initialTransition, transition } from 'xstate'
import type { RoomEvent, RoomInput } from '../../machines/room.js'
import { Coverage, coverageLine } from './coverage.js'
import { describeEvent, plain } from './paths.js'
import type { PersistedRoom } from '../rooms/room.js'
import { createRoomTester, type RoomTester, type RoomTesterOptions, restoreRoomTester } from './roomTester.js'

export interface RoomModelOptions extends Omit<RoomTesterOptions, 'inspect' | 'clock'> {
  /**
   * The events the paths are made of: concrete joins, messages, leaves and ticks with the players
   * and payloads your game needs (`{ type: 'player.message', player: 'x', message: { id: 1, data } }`).
   * A tick's `elapsed` should be one tick period.
   */
  events: readonly RoomEvent[]
  /**
   * Whether an event can happen in a state, beyond the machine handling it. zerostate itself keeps
   * out a message or a leave from a player who is not seated, and a join of a seated one; say here
   * what else your game's clients cannot do.
   */
  allow?: (snapshot: AnyMachineSnapshot, event: RoomEvent) => boolean
  /**
   * What tells two states apart for the tour: one path is generated per edge between distinct
   * views. The default, the state value, keeps a game with a large context (a board) to a few
   * paths; return more of the context for more paths. @default (snapshot) => snapshot.value
   */
  view?: (snapshot: AnyMachineSnapshot) => unknown
  /** Start every path from this saved room instead of a new one (a restored game its players rejoin). */
  restore?: PersistedRoom
  /** Count into this coverage, e.g. one shared by a model of new rooms and one of restored rooms. @default a new one */
  coverage?: Coverage
}

/** Generated paths over a room machine, a replay of each in a {@link RoomTester}, and the coverage of what the replays took. */
export interface RoomModel {
  /** One shortest path per edge of the reachable graph of the machine and its seats. */
  readonly paths: readonly RoomPath[]
  /**
   * Replays a path through a fresh tester, event by event, and throws if the room does not reach
   * each step's state (value and context), or if zerostate would not deliver one of its events.
   */
  replay(path: RoomPath): RoomTester
  /** What every replay so far took, against the machine's definition. */
  readonly coverage: Coverage
  /** `coverage ticTacToe (rooms): states 6/6, transitions 11/11 (23 paths)`: the coverage, and the paths this model replayed. */
  line(label?: string): string
}

/**
 * Model-based tests for a game's room chart, as zerostate has for its own: paths generated with
 * `@xstate/graph` (which zerostate/testing needs installed) from the game's own machine and
 * events, replayed as the server would run them.
 *
 * @example
 * const model = roomModel(ticTacToeRoom, { maxPlayers: 2, events })
 * for (const path of model.paths) it(describeRoomPath(path), () => void model.replay(path))
 * it('covers the chart', () => expect(model.coverage.complete).toBe(true))
 */
export function roomModel(machine: AnyStateMachine, options: RoomModelOptions): RoomModel {
  const { events, allow, view = (snapshot: AnyMachineSnapshot) => snapshot.value, restore, coverage = new Coverage(machine), ...tester } = options
  const roomId = restore?.id ?? tester.roomId ?? 'test'
  const maxPlayers = tester.maxPlayers ?? 16
  const input: RoomInput = { roomId, name: machine.id, maxPlayers, options: tester.options ?? {} }
  // The graph walks the room machine together with its seats, so a path never holds an event
  // zerostate would keep from the room (a message from a player who is not seated).
  const logic = {
    getInitialSnapshot: (scope: unknown, given: unknown): SeatedSnapshot => ({
      room: restore === undefined ? machine.getInitialSnapshot(scope as never, given) : machine.resolveState(restore.snapshot as never),
      ...NO_SEATS,
    }),
    transition: (state: SeatedSnapshot, event: RoomEvent, scope: unknown): SeatedSnapshot => ({
      room: machine.transition(state.room, event, scope as never),
      ...seatsAfter(state, event),
    }),
  }
  const key = (state: SeatedSnapshot) => JSON.stringify([view(state.room), state.room.status, state.seated, state.dropped])
  const paths = getShortestPaths(logic as never, {
    input,
    events: (state: SeatedSnapshot) =>
      state.room.status !== 'active'
        ? []
        : events.filter((event) => state.room.can(event) && delivers(state, event, maxPlayers) && (allow?.(state.room, event) ?? true)),
    serializeState: (state: SeatedSnapshot, event: unknown, previous: SeatedSnapshot | undefined) =>
      JSON.stringify([key(state), event ?? null, previous ? key(previous) : null]),
  } as never) as unknown as RoomPath[]
  // Vertices that share a view share one stored state, so a generated step's state may belong to
  // another path through the same view: each path's states are worked out again from its events.
  const start: AnyMachineSnapshot = restore === undefined ? initialTransition(machine, input)[0] : machine.resolveState(restore.snapshot as never)
  const replayable = paths.flatMap((path) => {
    const steps: { event: RoomEvent; state: SeatedSnapshot }[] = [{ event: path.steps[0]!.event, state: { room: start, ...NO_SEATS } }]
    for (const { event } of path.steps.slice(1)) {
      const before = steps.at(-1)!.state
      if (before.room.status !== 'active' || !before.room.can(event) || !delivers(before, event, maxPlayers)) return []
      steps.push({ event, state: { room: transition(machine, before.room, event)[0], ...seatsAfter(before, event) } })
    }
    return [{ steps }]
  })
  let replays = 0
  return {
    paths: replayable,
    coverage,
    replay(path) {
      replays++
      const settings = { ...tester, roomId, inspect: coverage.observe }
      const room = restore === undefined ? createRoomTester(machine, settings) : restoreRoomTester(machine, restore, settings)
      const steps = path.steps
      for (let i = 1; i < steps.length; i++) {
        const where = () => `${describeRoomPath(path)} [step ${i}]`
        apply(room, steps[i]!.event, where)
        const expected = plain(steps[i]!.state.room)
        const actual = plain(room.snapshot)
        if (actual !== expected) throw new Error(`${where()}: the room is in ${actual}, the path says ${expected}`)
      }
      return room
    },
    line(label = machine.id) {
      return coverageLine(coverage.figures(`${label} (rooms)`, replays))
    },
  }
}

/** A state of the graph: the room machine's snapshot and who is seated. */
export interface SeatedSnapshot extends Seats {
  readonly room: AnyMachineSnapshot
}

interface Seats {
  /** Who is seated, sorted. */
  readonly seated: readonly string[]
  /** Whose seat is dropped (a lost connection, with the server's `resume`), sorted. */
  readonly dropped: readonly string[]
}

const NO_SEATS: Seats = { seated: [], dropped: [] }

export interface RoomPath {
  readonly steps: readonly { readonly event: RoomEvent; readonly state: SeatedSnapshot }[]
}

/** `player.joined(x) → player.message(x, 1) → …`, for test names. */
export function describeRoomPath(path: RoomPath): string {
  const steps = path.steps.slice(1).map((step) => describeEvent(step.event))
  return steps.length > 0 ? steps.join(' → ') : '(initial state)'
}

function apply(room: RoomTester, event: RoomEvent, where: () => string): void {
  switch (event.type) {
    case 'player.joined':
      room.join(event.player, { userId: event.userId, options: event.options })
      return
    case 'player.message':
      if (!room.message(event.player, event.message)) throw new Error(`${where()}: zerostate would not deliver this message`)
      return
    case 'player.left':
      if (!room.leave(event.player, event.reason)) throw new Error(`${where()}: ${event.player} is not in the room`)
      return
    case 'player.dropped':
      if (!room.drop(event.player)) throw new Error(`${where()}: ${event.player} is not seated`)
      return
    case 'player.resumed':
      if (!room.resume(event.player)) throw new Error(`${where()}: ${event.player} was not dropped`)
      return
    case 'room.tick':
      room.tick(event.elapsed)
      return
  }
}

/** Who is seated and who dropped after `event`. */
function seatsAfter({ seated, dropped }: Seats, event: RoomEvent): Seats {
  const without = (players: readonly string[]) => players.filter((player) => player !== (event as { player?: string }).player)
  switch (event.type) {
    case 'player.joined':
      return { seated: [...seated, event.player].sort(), dropped }
    case 'player.left':
      return { seated: without(seated), dropped: without(dropped) }
    case 'player.dropped':
      return { seated: without(seated), dropped: [...dropped, event.player].sort() }
    case 'player.resumed':
      return { seated: [...seated, event.player].sort(), dropped: without(dropped) }
    default:
      return { seated, dropped }
  }
}

/**
 * What zerostate's seats let through: messages and drops of seated players, resumes of dropped
 * ones, leaves of either, and joins of others while there is a seat.
 */
function delivers({ seated, dropped }: Seats, event: RoomEvent, maxPlayers: number): boolean {
  switch (event.type) {
    case 'player.joined':
      return !seated.includes(event.player) && !dropped.includes(event.player) && seated.length + dropped.length < maxPlayers
    case 'player.message':
    case 'player.dropped':
      return seated.includes(event.player)
    case 'player.resumed':
      return dropped.includes(event.player)
    case 'player.left':
      return seated.includes(event.player) || dropped.includes(event.player)
    case 'room.tick':
      return true
  }
}
