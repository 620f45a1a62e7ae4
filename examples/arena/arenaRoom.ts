/**
 * The arena as a room chart: lobby → countdown → playing → gameOver → lobby. Each player's seat
 * (joined, ready, playing, out, dropped: see arenaSeats.ts) is in the context and moves with the
 * chart.
 *
 * - lobby: players say Hello (their name) and Ready; once at least `minPlayers` are ready and
 *   every other seat is dropped, the countdown starts: a lost player does not hold up the rest.
 * - countdown: `countdownTicks` ticks; if a ready player leaves and too few are left, back to the
 *   lobby. The room is never locked: who joins now (until it is full) watches this round and
 *   plays the next.
 * - playing: every `ticksPerStep` ticks the cycles step (arenaRules.ts) and every player gets a
 *   Step; Turn steers. A crash puts the seat out; when at most one rides, the round is over.
 * - gameOver: the winner (the last one riding, if any) gets a win; after `gameOverTicks`, every
 *   seat is joined again and the lobby waits for Ready.
 * - in any phase, `player.dropped` (the server's `resume`: the connection is lost, the seat kept)
 *   makes the seat dropped. Its cycle, if it rides, goes straight on, since no one steers it: it
 *   may crash, or even win. A Ready is cancelled. `player.resumed` puts the seat back where the
 *   round has left it: playing if its cycle still rides, out if it crashed, joined once the round
 *   is over (or in the lobby). If the grace runs out the room hears `player.left`, as for any
 *   leave: the seat goes and its cycle is out, its trail a wall until the round ends.
 *
 * It speaks only by emitting frames (arenaMessages.ts) and reads no clock: time is `room.tick`.
 */
import { assign, emit, enqueueActions, setup } from 'xstate'
import { broadcast, type PlayerId, type RoomEmitted, type RoomEvent, type RoomInput, sendTo } from '../../machines/index.js'
import { type ArenaMessage, frame, parse } from './arenaMessages.js'
import { advance, type ArenaSettings, DEFAULT_SETTINGS, decided, type Heading, MAX_PLAYERS, riding, spawn, steer, type World } from './arenaRules.js'
import { moveSeat, moveStanding, resumeSeat, type Seat, type SeatState, standing } from './arenaSeats.js'
import {
  BoardSchema,
  Direction,
  Phase,
  RoomStateSchema,
  SeatState as WireSeat,
  StepSchema,
  WelcomeSchema,
} from './gen/arena_pb.js'

/** The room's top-level states; the context names the one it is in, for the frames it emits. */
export type ArenaPhase = 'lobby' | 'countdown' | 'playing' | 'gameOver'

export interface ArenaContext {
  roomId: string
  settings: ArenaSettings
  phase: ArenaPhase
  seats: Seat[]
  /** Ticks into the countdown, the round's current step, or the game-over pause. */
  ticks: number
  /** The round being played, or the last one. */
  world: World
  round: number
  /** The last round's winner; null for a draw or before the first round. */
  winner: PlayerId | null
}

/** `createArenaRoom()` is the game as served; tests pass a small arena and short pauses. */
export function createArenaRoom(overrides: Partial<ArenaSettings> = {}) {
  const settings: ArenaSettings = { ...DEFAULT_SETTINGS, ...overrides }
  return setup({
    types: {
      context: {} as ArenaContext,
      events: {} as RoomEvent,
      input: {} as RoomInput,
      emitted: {} as RoomEmitted,
    },
    guards: {
      hello: ({ event }) => messageOf(event)?.$typeName === 'zerostate.arena.v1.Hello',
      readyMessage: ({ context, event }) =>
        messageOf(event)?.$typeName === 'zerostate.arena.v1.Ready' && seatOf(context, event)?.state === 'joined',
      turnMessage: ({ context, event }) => messageOf(event)?.$typeName === 'zerostate.arena.v1.Turn' && seatOf(context, event)?.state === 'playing',
      allReady: ({ context }) =>
        context.seats.filter((seat) => seat.state === 'ready').length >= context.settings.minPlayers &&
        context.seats.every((seat) => seat.state === 'ready' || seat.state === 'dropped'),
      tooFewReady: ({ context }) => context.seats.filter((seat) => seat.state === 'ready').length < context.settings.minPlayers,
      countdownOver: ({ context }) => context.ticks >= context.settings.countdownTicks,
      roundDecided: ({ context }) => decided(context.world),
      pauseOver: ({ context }) => context.ticks >= context.settings.gameOverTicks,
    },
    actions: {
      seat: assign({
        seats: ({ context, event }) => {
          if (event.type !== 'player.joined') return context.seats
          const slot = freeSlot(context.seats)
          return [...context.seats, { id: event.player, name: `player ${slot + 1}`, slot, state: 'joined' as const, wins: 0 }]
        },
      }),
      welcome: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'player.joined') return
        const { width, height } = context.settings
        enqueue.emit(sendTo(event.player, frame(WelcomeSchema, { playerId: event.player, roomId: context.roomId, width, height })))
        enqueue.emit(sendTo(event.player, boardFrame(context.world)))
      }),
      unseat: assign(({ context, event }) => {
        if (event.type !== 'player.left') return {}
        const seat = seatOf(context, event)
        if (seat === undefined) return {}
        const riders = context.world.riders.map((rider) => (rider.slot === seat.slot ? { ...rider, alive: false } : rider))
        return { seats: context.seats.filter((other) => other !== seat), world: { ...context.world, riders } }
      }),
      rename: assign({
        seats: ({ context, event }) => {
          const message = messageOf(event)
          const seat = seatOf(context, event)
          if (message?.$typeName !== 'zerostate.arena.v1.Hello' || seat === undefined) return context.seats
          const name = cleanName(message.name) ?? seat.name
          return context.seats.map((other) => (other === seat ? { ...seat, name } : other))
        },
      }),
      drop: assign({ seats: ({ context, event }) => context.seats.map((seat) => (seat === seatOf(context, event) ? moveSeat(seat, 'dropped') : seat)) }),
      resume: assign({ seats: ({ context, event }) => context.seats.map((seat) => (seat === seatOf(context, event) ? resumeSeat(seat) : seat)) }),
      markReady: assign({ seats: ({ context, event }) => context.seats.map((seat) => (seat === seatOf(context, event) ? moveSeat(seat, 'ready') : seat)) }),
      enter: assign((_, params: { phase: ArenaPhase }) => ({ phase: params.phase, ticks: 0 })),
      count: enqueueActions(({ context, enqueue }) => {
        const ticks = context.ticks + 1
        enqueue.assign({ ticks })
        // The seconds shown change every tickRate ticks: say so then, not on every tick.
        if (secondsLeft(context, context.ticks) !== secondsLeft(context, ticks)) enqueue.emit(roomStateOf({ ...context, ticks }))
      }),
      startRound: assign(({ context }) => {
        const seats = context.seats.map((seat) => (seat.state === 'ready' ? moveSeat(seat, 'playing') : seat))
        const world = spawn(
          seats.filter((seat) => seat.state === 'playing').map((seat) => seat.slot),
          context.settings,
        )
        return { seats, world, round: context.round + 1, winner: null }
      }),
      steer: assign({
        world: ({ context, event }) => {
          const message = messageOf(event)
          const seat = seatOf(context, event)
          if (message?.$typeName !== 'zerostate.arena.v1.Turn' || seat === undefined) return context.world
          const heading = HEADINGS[message.direction]
          return heading === undefined ? context.world : steer(context.world, seat.slot, heading)
        },
      }),
      ride: enqueueActions(({ context, enqueue }) => {
        const ticks = context.ticks + 1
        if (ticks < context.settings.ticksPerStep) {
          enqueue.assign({ ticks })
          return
        }
        const { world, crashed } = advance(context.world, context.settings)
        const seats = context.seats.map((seat) => (crashed.includes(seat.slot) && standing(seat) === 'playing' ? moveStanding(seat, 'out') : seat))
        enqueue.assign({ ticks: 0, world, seats })
        enqueue.emit(broadcast(stepFrame(world)))
        if (crashed.length > 0) enqueue.emit(roomStateOf({ ...context, seats, world }))
      }),
      decide: assign(({ context }) => {
        const last = riding(context.world)
        const winner = last.length === 1 ? (context.seats.find((seat) => seat.slot === last[0]!.slot) ?? null) : null
        const seats = context.seats.map((seat) => (seat === winner ? { ...seat, wins: seat.wins + 1 } : seat))
        return { seats, winner: winner?.id ?? null }
      }),
      resetSeats: assign({
        seats: ({ context }) => context.seats.map((seat) => (standing(seat) === 'playing' || standing(seat) === 'out' ? moveStanding(seat, 'joined') : seat)),
      }),
      sendRoom: emit(({ context }) => roomStateOf(context)),
    },
  }).createMachine({
    id: 'arena',
    context: ({ input }) => ({ roomId: input.roomId, settings, phase: 'lobby' as const, seats: [], ticks: 0, world: { step: 0, riders: [] }, round: 0, winner: null }),
    initial: 'lobby',
    on: {
      'player.joined': { actions: ['seat', 'welcome', 'sendRoom'] },
      'player.left': { actions: ['unseat', 'sendRoom'] },
      'player.dropped': { actions: ['drop', 'sendRoom'] },
      'player.resumed': { actions: ['resume', 'sendRoom'] },
      'player.message': { guard: 'hello', actions: ['rename', 'sendRoom'] },
    },
    states: {
      lobby: {
        entry: [{ type: 'enter', params: { phase: 'lobby' } }, 'sendRoom'],
        on: {
          'player.message': { guard: 'readyMessage', actions: ['markReady', 'sendRoom'] },
        },
        always: { guard: 'allReady', target: 'countdown' },
      },
      countdown: {
        entry: [{ type: 'enter', params: { phase: 'countdown' } }, 'sendRoom'],
        on: { 'room.tick': { actions: 'count' } },
        always: [
          { guard: 'tooFewReady', target: 'lobby' },
          { guard: 'countdownOver', target: 'playing' },
        ],
      },
      playing: {
        entry: [{ type: 'enter', params: { phase: 'playing' } }, 'startRound', 'sendRoom'],
        on: {
          'room.tick': { actions: 'ride' },
          'player.message': { guard: 'turnMessage', actions: 'steer' },
        },
        always: { guard: 'roundDecided', target: 'gameOver' },
      },
      gameOver: {
        entry: [{ type: 'enter', params: { phase: 'gameOver' } }, 'decide', 'sendRoom'],
        on: { 'room.tick': { actions: 'count' } },
        always: { guard: 'pauseOver', target: 'lobby', actions: 'resetSeats' },
      },
    },
  })
}

/** The arena as `npm run demo` serves it. */
export const arenaRoom = createArenaRoom()
export type ArenaRoom = typeof arenaRoom

const HEADINGS: Readonly<Partial<Record<Direction, Heading>>> = {
  [Direction.UP]: 'up',
  [Direction.DOWN]: 'down',
  [Direction.LEFT]: 'left',
  [Direction.RIGHT]: 'right',
}

const PHASES: Readonly<Record<ArenaPhase, Phase>> = {
  lobby: Phase.LOBBY,
  countdown: Phase.COUNTDOWN,
  playing: Phase.PLAYING,
  gameOver: Phase.GAME_OVER,
}

const WIRE_SEATS: Readonly<Record<SeatState, WireSeat>> = {
  joined: WireSeat.JOINED,
  ready: WireSeat.READY,
  playing: WireSeat.PLAYING,
  out: WireSeat.OUT,
  dropped: WireSeat.DROPPED,
}

function messageOf(event: RoomEvent): ArenaMessage | null {
  return event.type === 'player.message' ? parse(event.message) : null
}

function seatOf(context: ArenaContext, event: RoomEvent): Seat | undefined {
  return 'player' in event ? context.seats.find((seat) => seat.id === event.player) : undefined
}

function freeSlot(seats: readonly Seat[]): number {
  for (let slot = 0; slot < MAX_PLAYERS; slot++) if (!seats.some((seat) => seat.slot === slot)) return slot
  return seats.length
}

/** At most 16 printable characters; null when nothing is left. */
function cleanName(name: string): string | null {
  const clean = name.replace(/[^\p{L}\p{N} _.-]/gu, '').trim().slice(0, 16)
  return clean === '' ? null : clean
}

/** Whole seconds left in the countdown or the game-over pause (0 in the other phases). */
function secondsLeft(context: ArenaContext, ticks: number): number {
  const { countdownTicks, gameOverTicks, tickRate } = context.settings
  const limit = context.phase === 'countdown' ? countdownTicks : context.phase === 'gameOver' ? gameOverTicks : ticks
  return Math.ceil(Math.max(0, limit - ticks) / tickRate)
}

function roomStateOf(context: ArenaContext): RoomEmitted {
  return broadcast(
    frame(RoomStateSchema, {
      phase: PHASES[context.phase],
      players: context.seats.map((seat) => ({ id: seat.id, name: seat.name, slot: seat.slot, seat: WIRE_SEATS[seat.state], wins: seat.wins })),
      seconds: secondsLeft(context, context.ticks),
      round: context.round,
      winner: context.winner ?? '',
    }),
  )
}

function stepFrame(world: World) {
  return frame(StepSchema, { step: world.step, cycles: world.riders.map(({ slot, x, y, alive }) => ({ slot, x, y, alive })) })
}

function boardFrame(world: World) {
  return frame(BoardSchema, { step: world.step, trails: world.riders.map(({ slot, trail }) => ({ slot, cells: trail })) })
}
