import { assign, emit, setup } from 'xstate'
import { broadcast, type PlayerId, type RoomEmitted, type RoomEvent, type RoomInput, sendTo } from '../../machines/index.js'

/**
 * Two-player tic-tac-toe as a room chart. Players send `MOVE` (one byte: the cell, 0-8); the room
 * answers with `BOARD` (nine cells, 0 empty, 1 X, 2 O, then whose turn: 1 or 2) to both, `BAD_MOVE`
 * to a player who moved out of turn or on a taken cell, and `RESULT` (0 draw, 1 X won, 2 O won,
 * 3 won because the other left) after the last BOARD when the game ends, which ends the room.
 * A player whose session has the bound user id of a seat (a room restored from a snapshot) takes
 * that seat back.
 */
export const MOVE = 1
export const BOARD = 10
export const BAD_MOVE = 11
export const RESULT = 12

interface Player {
  id: PlayerId
  /** The session's bound user id: a player who comes back (a restored room) is known by it. */
  user: string | number | undefined
}

interface Context {
  /** X first, then O. */
  players: Player[]
  board: number[]
  /** 1 (X, the first to join) or 2 (O). */
  turn: 1 | 2
  result: number | null
}

const LINES = [
  [0, 1, 2],
  [3, 4, 5],
  [6, 7, 8],
  [0, 3, 6],
  [1, 4, 7],
  [2, 5, 8],
  [0, 4, 8],
  [2, 4, 6],
]

function winner(board: readonly number[]): number {
  for (const [a, b, c] of LINES) if (board[a!] !== 0 && board[a!] === board[b!] && board[a!] === board[c!]) return board[a!]!
  return board.every((cell) => cell !== 0) ? 0 : -1
}

const boardFrame = (context: Context) => ({ id: BOARD, data: Uint8Array.from([...context.board, context.turn]) })

export const ticTacToeRoom = setup({
  types: {
    context: {} as Context,
    events: {} as RoomEvent,
    input: {} as RoomInput,
    emitted: {} as RoomEmitted,
  },
  guards: {
    full: ({ context }) => context.players.length === 2,
    legalMove: ({ context, event }) => {
      if (event.type !== 'player.message' || event.message.id !== MOVE) return false
      const cell = event.message.data[0]
      const seat = context.players.findIndex((player) => player.id === event.player)
      return seat + 1 === context.turn && cell !== undefined && cell < 9 && context.board[cell] === 0
    },
    returning: ({ context, event }) =>
      event.type === 'player.joined' && event.userId !== undefined && context.players.some((player) => player.user === event.userId),
    decided: ({ context }) => winner(context.board) >= 0,
    seated: ({ context, event }) => event.type === 'player.left' && context.players.some((player) => player.id === event.player),
  },
  actions: {
    addPlayer: assign({
      players: ({ context, event }) => (event.type === 'player.joined' ? [...context.players, { id: event.player, user: event.userId }] : context.players),
    }),
    retakeSeat: assign({
      players: ({ context, event }) =>
        context.players.map((player) => (event.type === 'player.joined' && player.user === event.userId ? { id: event.player, user: player.user } : player)),
    }),
    removePlayer: assign({ players: ({ context, event }) => context.players.filter((player) => event.type !== 'player.left' || player.id !== event.player) }),
    play: assign(({ context, event }) => {
      if (event.type !== 'player.message') return {}
      const board = [...context.board]
      board[event.message.data[0]!] = context.turn
      return { board, turn: context.turn === 1 ? (2 as const) : (1 as const) }
    }),
    decide: assign({ result: ({ context }) => winner(context.board) }),
    forfeit: assign({ result: 3 }),
    sendBoard: emit(({ context }) => broadcast(boardFrame(context))),
    refuseMove: emit(({ event }) => sendTo((event as Extract<RoomEvent, { player: PlayerId }>).player, { id: BAD_MOVE, data: new Uint8Array(0) })),
    sendResult: emit(({ context }) => broadcast({ id: RESULT, data: Uint8Array.from([context.result ?? 0]) })),
    lock: emit({ type: 'lock' }),
  },
}).createMachine({
  id: 'ticTacToe',
  context: { players: [], board: [0, 0, 0, 0, 0, 0, 0, 0, 0], turn: 1, result: null },
  initial: 'waiting',
  states: {
    waiting: {
      on: {
        'player.joined': { actions: 'addPlayer' },
        'player.left': { actions: 'removePlayer' },
      },
      always: { guard: 'full', target: 'playing' },
    },
    playing: {
      entry: ['lock', 'sendBoard'],
      on: {
        'player.message': [
          { guard: 'legalMove', actions: 'play', target: 'judging' },
          { actions: 'refuseMove' },
        ],
        'player.joined': { guard: 'returning', actions: ['retakeSeat', 'sendBoard'] },
        'player.left': { guard: 'seated', target: 'over', actions: ['removePlayer', 'forfeit'] },
      },
    },
    judging: {
      always: [{ guard: 'decided', target: 'over', actions: 'decide' }, { target: 'playing' }],
    },
    over: {
      type: 'final',
      entry: ['sendBoard', 'sendResult'],
    },
  },
})
