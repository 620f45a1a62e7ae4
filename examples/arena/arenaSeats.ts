/**
 * A player's seat in an arena room, and the one rule about it: which seat state may follow which.
 * The room machine moves seats only through {@link moveSeat}, so a move the chart does not allow
 * fails the room (and its tests) instead of showing on screen. A seat whose player's connection is
 * lost is `dropped` (with the server's `resume`) and remembers where a resume takes it back to.
 */
import type { PlayerId } from '../../machines/index.js'

export type SeatState =
  /** In the room, not ready: in the lobby, or watching a round that started without it. */
  | 'joined'
  /** Ready for the next round (lobby and countdown). */
  | 'ready'
  /** Riding in the round. */
  | 'playing'
  /** Crashed in the round; watches it end. */
  | 'out'
  /** Its connection is lost; the server keeps the seat for the grace. A cycle it rides goes straight on. */
  | 'dropped'

/** Where a dropped seat goes back to when its player resumes: a drop cancels a Ready. */
export type ResumeState = Exclude<SeatState, 'ready' | 'dropped'>

/** The seat states each state may move to. */
export const SEAT_MOVES: Readonly<Record<SeatState, readonly SeatState[]>> = Object.freeze({
  joined: ['ready', 'dropped'],
  ready: ['playing', 'dropped'],
  playing: ['out', 'joined', 'dropped'],
  out: ['joined', 'dropped'],
  dropped: ['joined', 'playing', 'out'],
})

export interface Seat {
  id: PlayerId
  name: string
  /** 0-7: starting place and colour, the lowest free one on joining. */
  slot: number
  state: SeatState
  wins: number
  /** While dropped: the state a resume returns it to, kept up to date as the round goes on. */
  resumeTo?: ResumeState
}

export class SeatMoveError extends Error {
  readonly code = 'seat-move'
  constructor(seat: Seat, to: SeatState) {
    super(`seat ${seat.name} (${seat.id}) cannot go from ${seat.state} to ${to}`)
    this.name = 'SeatMoveError'
  }
}

/** The seat in state `to`; throws a {@link SeatMoveError} for a move {@link SEAT_MOVES} does not list. */
export function moveSeat(seat: Seat, to: SeatState): Seat {
  if (seat.state === to) return seat
  if (!SEAT_MOVES[seat.state].includes(to)) throw new SeatMoveError(seat, to)
  const { id, name, slot, wins } = seat
  return to === 'dropped' ? { id, name, slot, wins, state: to, resumeTo: seat.state === 'ready' ? 'joined' : (seat.state as ResumeState) } : { id, name, slot, wins, state: to }
}

/** Where the seat stands in the round: its state, or for a dropped seat the state it comes back to. */
export function standing(seat: Seat): SeatState {
  return seat.state === 'dropped' ? seat.resumeTo! : seat.state
}

/**
 * The seat moved on by the round (a crash, the round's end): a seat in play moves through
 * {@link moveSeat}; a dropped one stays dropped and comes back to `to`, a move its resume state
 * must allow.
 */
export function moveStanding(seat: Seat, to: ResumeState): Seat {
  if (seat.state !== 'dropped') return moveSeat(seat, to)
  const from = standing(seat)
  if (from === to) return seat
  if (!SEAT_MOVES[from].includes(to)) throw new SeatMoveError({ ...seat, state: from }, to)
  return { ...seat, resumeTo: to }
}

/** The dropped seat back in the state its player left it in, as the round has moved it since. */
export function resumeSeat(seat: Seat): Seat {
  return seat.state === 'dropped' ? moveSeat(seat, standing(seat)) : seat
}
