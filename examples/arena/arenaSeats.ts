/**
 * A player's seat in an arena room, and the one rule about it: which seat state may follow which.
 * The room machine moves seats only through {@link moveSeat}, so a move the chart does not allow
 * fails the room (and its tests) instead of showing on screen. A new state (a `dropped` seat, with
 * reconnection) is one more member of {@link SeatState} and its rows here.
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

/** The seat states each state may move to. */
export const SEAT_MOVES: Readonly<Record<SeatState, readonly SeatState[]>> = Object.freeze({
  joined: ['ready'],
  ready: ['playing'],
  playing: ['out', 'joined'],
  out: ['joined'],
})

export interface Seat {
  id: PlayerId
  name: string
  /** 0-7: starting place and colour, the lowest free one on joining. */
  slot: number
  state: SeatState
  wins: number
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
  return { ...seat, state: to }
}
