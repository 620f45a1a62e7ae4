import { assign, emit, setup } from 'xstate'
import { broadcast, type PlayerId, type RoomEmitted, type RoomEvent, type RoomInput } from '../../machines/index.js'

/**
 * A room for up to `maxPlayers` whose whole state is one number: each `BUMP` from a player adds one
 * to it, and the room broadcasts the new `TALLY` (a uint32) to every player. Small enough to read,
 * and enough to show what a cluster keeps of a room when its node dies: the tally restored on
 * another node is the one in the last snapshot.
 */
export const BUMP = 1
export const TALLY = 2

interface Context {
  tally: number
  players: PlayerId[]
}

function tallyFrame(tally: number): { id: number; data: Uint8Array } {
  const data = new Uint8Array(4)
  new DataView(data.buffer).setUint32(0, tally)
  return { id: TALLY, data }
}

export const tallyRoom = setup({
  types: { context: {} as Context, events: {} as RoomEvent, input: {} as RoomInput, emitted: {} as RoomEmitted },
}).createMachine({
  id: 'tally',
  context: { tally: 0, players: [] },
  initial: 'open',
  states: {
    open: {
      on: {
        'player.joined': { actions: assign({ players: ({ context, event }) => [...context.players, event.player] }) },
        'player.left': { actions: assign({ players: ({ context, event }) => context.players.filter((player) => player !== event.player) }) },
        'player.message': {
          guard: ({ event }) => event.message.id === BUMP,
          actions: [assign({ tally: ({ context }) => context.tally + 1 }), emit(({ context }) => broadcast(tallyFrame(context.tally)))],
        },
      },
    },
  },
})

/** The tally a `TALLY` frame carries. */
export function tallyOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0)
}
