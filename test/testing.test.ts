/**
 * zerostate/testing on the tic-tac-toe example: the game's rules with simulated players, and
 * model-based tests generated from the game's own chart, with their coverage figure.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type AnyMachineSnapshot, assign, emit, setup } from 'xstate'
import { BAD_MOVE, BOARD, MOVE, RESULT, ticTacToeRoom } from '../examples/tic-tac-toe/ticTacToeRoom.js'
import { broadcast, type RoomEmitted, type RoomEvent, type RoomInput } from '../machines/index.js'
import { coverageLine, createRoomTester, describeRoomPath, restoreRoomTester, roomModel } from '../src/testing/index.js'

const move = (cell: number) => ({ id: MOVE, data: Uint8Array.from([cell]) })
const ids = (messages: { id: number }[]) => messages.map((message) => message.id)

describe('a room tester', () => {
  it('plays tic-tac-toe with two simulated players, no server', () => {
    const room = createRoomTester(ticTacToeRoom, { maxPlayers: 2 })
    room.join('x')
    expect(room.state).toBe('waiting')
    room.join('o')
    expect(room.state).toBe('playing')
    expect(room.locked).toBe(true)
    expect(() => room.join('late')).toThrow(expect.objectContaining({ code: 'room-full' }))
    expect(room.message('o', move(0))).toBe(true)
    expect(ids(room.received('o'))).toEqual([BOARD, BAD_MOVE])
    for (const [player, cell] of [
      ['x', 0],
      ['o', 3],
      ['x', 1],
      ['o', 4],
      ['x', 2],
    ] as const)
      room.message(player, move(cell))
    expect(room.ended).toBe(true)
    expect(room.received('x').at(-1)).toEqual({ id: RESULT, data: Uint8Array.from([1]) })
    expect(room.emitted.filter((event) => event.type === 'broadcast')).toHaveLength(7)
    // The room ended: its players are out, and it hears nothing more.
    expect(room.players).toEqual([])
    expect(room.message('x', move(5))).toBe(false)
  })

  it('a player who leaves forfeits; the other is told', () => {
    const room = createRoomTester(ticTacToeRoom, { maxPlayers: 2 })
    room.join('x')
    room.join('o')
    room.leave('x', 'heartbeat-timeout')
    expect(room.received('o').at(-1)).toEqual({ id: RESULT, data: Uint8Array.from([3]) })
    expect(room.ended).toBe(true)
  })

  it('restores a persisted game, where returning players take their seats by user id', () => {
    const first = createRoomTester(ticTacToeRoom, { maxPlayers: 2 })
    first.join('x1', { userId: 'xena' })
    first.join('o1', { userId: 'oscar' })
    first.message('x1', move(4))
    const saved = JSON.parse(JSON.stringify(first.persist()))
    const second = restoreRoomTester(ticTacToeRoom, saved, { maxPlayers: 2 })
    expect(second.state).toBe('playing')
    second.join('o2', { userId: 'oscar' })
    expect(second.received('o2').at(-1)).toEqual({ id: BOARD, data: Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0, 2]) })
    expect(second.message('o2', move(0))).toBe(true)
  })

  it('ticks at the room’s rate on the simulated clock, judged at their due time', () => {
    const ticks: number[] = []
    const ticking = setup({ types: { events: {} as RoomEvent, input: {} as RoomInput, emitted: {} as RoomEmitted, context: {} as { n: number } } }).createMachine({
      context: { n: 0 },
      on: {
        'room.tick': {
          actions: [assign({ n: ({ context }) => context.n + 1 }), emit(({ event }) => broadcast({ id: 1, data: Uint8Array.from([(event as { elapsed: number }).elapsed]) }))],
        },
      },
    })
    const room = createRoomTester(ticking, { tickRate: 20 })
    room.join('p')
    room.tick(49)
    expect(room.snapshot.context.n).toBe(0)
    for (let i = 0; i < 3; i++) room.tick(50)
    expect(room.snapshot.context.n).toBe(3)
    for (const message of room.received('p')) ticks.push(message.data[0]!)
    expect(ticks).toEqual([50, 50, 50])
  })
})

describe('model-based tests of a game’s own chart', () => {
  const join = (player: string): RoomEvent => ({ type: 'player.joined', player, userId: player, options: {} })
  const moves = [0, 1, 2, 3, 4, 6].flatMap((cell) => ['x', 'o'].map((player): RoomEvent => ({ type: 'player.message', player, message: move(cell) })))
  const leaves: RoomEvent[] = [
    { type: 'player.left', player: 'x', reason: 'client-closed' },
    { type: 'player.left', player: 'o', reason: 'left' },
  ]
  // A state is told apart by its value and the number of moves made, so the tour plays games to
  // their end without walking every board.
  const view = (snapshot: AnyMachineSnapshot) => [snapshot.value, (snapshot.context as { board: number[] }).board.filter((cell) => cell !== 0).length]
  const fresh = roomModel(ticTacToeRoom, { maxPlayers: 2, events: [join('x'), join('o'), ...moves, ...leaves], view })
  // A game saved after X's first move, which its players rejoin: the only way into `playing`'s join.
  const saved = (() => {
    const room = createRoomTester(ticTacToeRoom, { maxPlayers: 2 })
    room.join('x', { userId: 'x' })
    room.join('o', { userId: 'o' })
    room.message('x', move(8))
    return room.persist()
  })()
  const restored = roomModel(ticTacToeRoom, { maxPlayers: 2, events: [join('x'), join('o'), ...moves], view, restore: saved, coverage: fresh.coverage })

  it('generates paths from the chart and its seats: no message from a player who is not seated', () => {
    expect(fresh.paths.length).toBeGreaterThan(10)
    for (const path of [...fresh.paths, ...restored.paths]) {
      for (const step of path.steps.slice(1)) if (step.event.type === 'player.message') expect(step.state.seated).toContain(step.event.player)
    }
  })

  it('replays every path as the server would run it', () => {
    for (const path of fresh.paths) expect(() => fresh.replay(path), describeRoomPath(path)).not.toThrow()
    for (const path of restored.paths) expect(() => restored.replay(path), describeRoomPath(path)).not.toThrow()
  })

  it('covers every state and transition of the chart, as docs/rooms.md says', () => {
    expect(fresh.coverage.missing()).toBe('')
    expect(fresh.coverage.complete).toBe(true)
    const docs = readFileSync(new URL('../docs/rooms.md', import.meta.url), 'utf8')
    const line = coverageLine(fresh.coverage.figures('ticTacToe (rooms)', fresh.paths.length + restored.paths.length))
    expect(/<!-- output: ticTacToe coverage -->\n```\n(.*)\n```/.exec(docs)?.[1]).toBe(line)
  })
})
