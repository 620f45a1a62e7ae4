import { assign, setup } from 'xstate'
import type { LeaveReason, PlayerId } from './room.js'

/**
 * One player's seat in one room: reserved when matching picks the room (so the seat counts at
 * once and a room never overfills), seated when the room hears `player.joined`, left when it
 * hears `player.left`. With `resume`, a seated player whose connection is lost is dropped (the
 * room hears `player.dropped`) and seated again when it resumes (`player.resumed`). The server
 * delivers a player's messages to the room only while the seat is seated, so a room can never
 * hear a message before a join, between a drop and its resume, or after a leave.
 */
export interface SeatInput {
  player: PlayerId
  roomId: string
}

export interface SeatContext {
  player: PlayerId
  roomId: string
  /** Set once, on the way into `left`. */
  reason: LeaveReason | null
}

export type SeatEvent = { type: 'seat.take' } | { type: 'seat.leave'; reason: LeaveReason } | { type: 'seat.drop' } | { type: 'seat.resume' }

export type SeatTag = 'seated'

export const seatMachine = setup({
  types: {
    input: {} as SeatInput,
    context: {} as SeatContext,
    events: {} as SeatEvent,
    tags: {} as SeatTag,
  },
  actions: {
    setReason: assign((_, params: { reason: LeaveReason }) => ({ reason: params.reason })),
  },
}).createMachine({
  id: 'seat',
  context: ({ input }) => ({ player: input.player, roomId: input.roomId, reason: null }),
  initial: 'reserved',
  states: {
    reserved: {
      on: {
        'seat.take': 'seated',
        'seat.leave': { target: 'left', actions: { type: 'setReason', params: ({ event }) => ({ reason: event.reason }) } },
      },
    },
    seated: {
      tags: ['seated'],
      on: {
        'seat.drop': 'dropped',
        'seat.leave': { target: 'left', actions: { type: 'setReason', params: ({ event }) => ({ reason: event.reason }) } },
      },
    },
    dropped: {
      on: {
        'seat.resume': 'seated',
        'seat.leave': { target: 'left', actions: { type: 'setReason', params: ({ event }) => ({ reason: event.reason }) } },
      },
    },
    left: { type: 'final' },
  },
})

export type SeatMachine = typeof seatMachine
