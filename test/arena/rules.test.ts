/**
 * The arena's rules (examples/arena/arenaRules.ts) as pure functions, and the same rules through
 * the room machine on a simulated clock: movement, turns, collisions, the end of a round, and
 * players whose connection drops and resumes (the server's `resume`) mid-round and in the lobby.
 */
import { describe, expect, it } from 'vitest'
import { frame, parse } from '../../examples/arena/arenaMessages.js'
import { createArenaRoom } from '../../examples/arena/arenaRoom.js'
import { advance, spawn, steer, type World } from '../../examples/arena/arenaRules.js'
import { moveSeat, moveStanding, resumeSeat, type Seat } from '../../examples/arena/arenaSeats.js'
import { Direction, HelloSchema, Phase, ReadySchema, SeatState, TurnSchema } from '../../examples/arena/gen/arena_pb.js'
import { createRoomTester, type RoomTester } from '../../src/testing/index.js'

const small = { width: 10, height: 8 }
const head = (world: World, slot: number) => world.riders.find((rider) => rider.slot === slot)!

describe('the rules', () => {
  it('spawns even slots on the left heading right, odd ones on the right heading left', () => {
    const world = spawn([1, 0], small)
    expect(world.riders.map(({ slot, x, y, heading }) => ({ slot, x, y, heading }))).toEqual([
      { slot: 0, x: 1, y: 3, heading: 'right' },
      { slot: 1, x: 8, y: 3, heading: 'left' },
    ])
  })

  it('moves every cycle one cell a step and leaves its trail behind', () => {
    const { world, crashed } = advance(spawn([0], small), small)
    expect(crashed).toEqual([])
    expect(head(world, 0)).toMatchObject({ x: 2, y: 3, alive: true, trail: [31, 32] })
    expect(world.step).toBe(1)
  })

  it('turns at the next step, and ignores a turn straight back', () => {
    let world = steer(spawn([0], small), 0, 'left')
    expect(head(world, 0).next).toBe('right')
    world = advance(steer(world, 0, 'up'), small).world
    expect(head(world, 0)).toMatchObject({ x: 1, y: 2, heading: 'up' })
  })

  it('puts out a cycle that leaves the grid', () => {
    let world = steer(spawn([0], small), 0, 'up')
    for (let step = 0; step < 3; step++) world = advance(world, small).world
    expect(head(world, 0)).toMatchObject({ y: 0, alive: true })
    const { world: after, crashed } = advance(world, small)
    expect(crashed).toEqual([0])
    expect(head(after, 0)).toMatchObject({ y: 0, alive: false })
  })

  it('puts out a cycle that runs into a trail, its own included', () => {
    let world = spawn([0], small)
    for (const turn of ['right', 'down', 'left', 'up'] as const) world = advance(steer(world, 0, turn), small).world
    expect(head(world, 0).alive).toBe(false)
  })

  it('puts out both cycles of a head-on collision: the round is a draw', () => {
    let world = spawn([0, 1], { width: 6, height: 8 })
    let crashed: number[] = []
    for (let step = 0; step < 3 && crashed.length === 0; step++) ({ world, crashed } = advance(world, { width: 6, height: 8 }))
    expect(crashed.sort()).toEqual([0, 1])
  })
})

describe('the room on a simulated clock', () => {
  const settings = { width: 10, height: 8, countdownTicks: 4, gameOverTicks: 4 }
  const ticks = (room: RoomTester, n: number) => {
    for (let i = 0; i < n; i++) room.tick(50)
  }
  const last = (room: RoomTester, player: string, typeName: string) =>
    room.received(player).map(parse).filter((message) => message?.$typeName === typeName).at(-1)
  const ready = (room: RoomTester, ...players: string[]) => {
    for (const player of players) room.message(player, frame(ReadySchema))
  }

  it('starts when every seated player is ready, after the countdown, and stays open to latecomers', () => {
    const room = createRoomTester(createArenaRoom(settings), { maxPlayers: 8, tickRate: 20 })
    room.join('a')
    room.join('b')
    room.message('a', frame(HelloSchema, { name: '  alice!? ' }))
    ready(room, 'a')
    expect(room.state).toBe('lobby')
    ready(room, 'b')
    expect(room.state).toBe('countdown')
    expect(room.locked).toBe(false)
    expect(last(room, 'b', 'zerostate.arena.v1.RoomState')).toMatchObject({ phase: Phase.COUNTDOWN, seconds: 1 })
    ticks(room, 3)
    expect(room.state).toBe('countdown')
    ticks(room, 1)
    expect(room.state).toBe('playing')
    expect(last(room, 'a', 'zerostate.arena.v1.RoomState')).toMatchObject({
      phase: Phase.PLAYING,
      round: 1,
      players: [
        { name: 'alice', seat: SeatState.PLAYING },
        { name: 'player 2', seat: SeatState.PLAYING },
      ],
    })
  })

  it('steps every two ticks, steers on Turn, and ends the round when one rides: the winner gets a win', () => {
    const room = createRoomTester(createArenaRoom(settings), { maxPlayers: 8, tickRate: 20 })
    room.join('a')
    room.join('b')
    ready(room, 'a', 'b')
    ticks(room, 4)
    room.message('a', frame(TurnSchema, { direction: Direction.UP }))
    ticks(room, 2)
    expect(last(room, 'b', 'zerostate.arena.v1.Step')).toMatchObject({ step: 1, cycles: [{ slot: 0, x: 1, y: 2, alive: true }, { slot: 1, x: 7, y: 3 }] })
    // a rides up from row 3 into the wall: at the edge after step 3, out at step 4.
    ticks(room, 4)
    expect(room.state).toBe('playing')
    ticks(room, 2)
    expect(room.state).toBe('gameOver')
    expect(room.snapshot.context.winner).toBe('b')
    expect(last(room, 'a', 'zerostate.arena.v1.RoomState')).toMatchObject({
      phase: Phase.GAME_OVER,
      winner: 'b',
      players: [{ seat: SeatState.OUT, wins: 0 }, { seat: SeatState.PLAYING, wins: 1 }],
    })
    ticks(room, 4)
    expect(room.state).toBe('lobby')
    expect(last(room, 'a', 'zerostate.arena.v1.RoomState')).toMatchObject({ phase: Phase.LOBBY, players: [{ seat: SeatState.JOINED }, { seat: SeatState.JOINED, wins: 1 }] })
  })

  it('a player who leaves mid-round is out: the other wins', () => {
    const room = createRoomTester(createArenaRoom(settings), { maxPlayers: 8, tickRate: 20 })
    room.join('a')
    room.join('b')
    ready(room, 'a', 'b')
    ticks(room, 4)
    room.leave('a', 'client-closed')
    expect(room.state).toBe('gameOver')
    expect(room.snapshot.context.winner).toBe('b')
  })

  it('back to the lobby when a countdown loses a player; a latecomer watches the round with the board so far', () => {
    const room = createRoomTester(createArenaRoom(settings), { maxPlayers: 8, tickRate: 20 })
    room.join('a')
    room.join('b')
    ready(room, 'a', 'b')
    room.leave('b')
    expect(room.state).toBe('lobby')
    room.join('b')
    ready(room, 'b')
    ticks(room, 6)
    room.join('c')
    expect(last(room, 'c', 'zerostate.arena.v1.Board')).toMatchObject({ step: 1, trails: [{ slot: 0, cells: [31, 32] }, { slot: 1, cells: [38, 37] }] })
    expect(room.snapshot.context.seats.map((seat) => seat.state)).toEqual(['playing', 'playing', 'joined'])
    // c is not riding: its turns are not taken.
    expect(room.message('c', frame(TurnSchema, { direction: Direction.UP }))).toBe(true)
    expect(room.snapshot.context.world.riders).toHaveLength(2)
  })

  it('frames it does not know are ignored, and a seat cannot skip a state', () => {
    const room = createRoomTester(createArenaRoom(settings), { maxPlayers: 8, tickRate: 20 })
    room.join('a')
    room.message('a', { id: 3, data: Uint8Array.from([0xff, 0xff]) })
    room.message('a', { id: 99, data: new Uint8Array(0) })
    expect(room.state).toBe('lobby')
    expect(room.errors).toEqual([])
    expect(() => moveSeat({ id: 'a', name: 'a', slot: 0, state: 'joined', wins: 0 }, 'out')).toThrow(expect.objectContaining({ code: 'seat-move' }))
  })

  it('a seat can drop from any state, and a Ready is not kept over a drop', () => {
    const seat = (state: Seat['state']): Seat => ({ id: 'a', name: 'a', slot: 0, state, wins: 0 })
    expect(moveSeat(seat('ready'), 'dropped')).toMatchObject({ state: 'dropped', resumeTo: 'joined' })
    expect(resumeSeat(moveSeat(seat('playing'), 'dropped'))).toEqual(seat('playing'))
    expect(resumeSeat(moveStanding(moveSeat(seat('playing'), 'dropped'), 'out'))).toEqual(seat('out'))
    expect(() => moveStanding(moveSeat(seat('joined'), 'dropped'), 'out')).toThrow(expect.objectContaining({ code: 'seat-move' }))
    expect(() => moveSeat(moveSeat(seat('ready'), 'dropped'), 'ready')).toThrow(expect.objectContaining({ code: 'seat-move' }))
  })
})

describe('a player whose connection drops, on a simulated clock', () => {
  const settings = { width: 10, height: 8, countdownTicks: 4, gameOverTicks: 4 }
  const ticks = (room: RoomTester, n: number) => {
    for (let i = 0; i < n; i++) room.tick(50)
  }
  const roomStates = (room: RoomTester, player: string) =>
    room.received(player).map(parse).filter((message) => message?.$typeName === 'zerostate.arena.v1.RoomState')
  const seatsShown = (room: RoomTester, player: string) => roomStates(room, player).at(-1)!.players.map((shown) => [shown.slot, shown.seat])
  const lastStep = (room: RoomTester, player: string) => room.received(player).map(parse).filter((message) => message?.$typeName === 'zerostate.arena.v1.Step').at(-1)
  /** a (slot 0, on the left heading right) and b (slot 1, on the right heading left) riding. */
  const riding = () => {
    const room = createRoomTester(createArenaRoom(settings), { maxPlayers: 8, tickRate: 20 })
    room.join('a')
    room.join('b')
    for (const player of ['a', 'b']) room.message(player, frame(ReadySchema))
    ticks(room, 4)
    expect(room.state).toBe('playing')
    return room
  }

  it('mid-round: the seat shows dropped, the cycle goes straight on unsteered, and the resumed player rides on in the same seat', () => {
    const room = riding()
    // b rides down, into the bottom wall at step 5; a drops before the first step.
    room.message('b', frame(TurnSchema, { direction: Direction.DOWN }))
    expect(room.drop('a')).toBe(true)
    expect(seatsShown(room, 'b')).toEqual([
      [0, SeatState.DROPPED],
      [1, SeatState.PLAYING],
    ])
    // Nothing from a dropped player reaches the room: its cycle keeps heading right.
    expect(room.message('a', frame(TurnSchema, { direction: Direction.UP }))).toBe(false)
    ticks(room, 4)
    expect(lastStep(room, 'b')).toMatchObject({ step: 2, cycles: [{ slot: 0, x: 3, y: 3, alive: true }, { slot: 1, x: 8, y: 5, alive: true }] })
    expect(room.snapshot.context.seats[0]).toMatchObject({ state: 'dropped', resumeTo: 'playing' })
    // a comes back within the grace: playing again, same slot, and steering again.
    expect(room.resume('a')).toBe(true)
    expect(seatsShown(room, 'b')).toEqual([
      [0, SeatState.PLAYING],
      [1, SeatState.PLAYING],
    ])
    expect(room.snapshot.context.seats[0]).toEqual({ id: 'a', name: 'player 1', slot: 0, state: 'playing', wins: 0 })
    expect(room.message('a', frame(TurnSchema, { direction: Direction.UP }))).toBe(true)
    ticks(room, 2)
    expect(lastStep(room, 'b')).toMatchObject({ step: 3, cycles: [{ slot: 0, x: 3, y: 2, alive: true }, { slot: 1, x: 8, y: 6, alive: true }] })
    // b hits the wall at step 5 and a, dropped for two steps of the round, wins it.
    ticks(room, 4)
    expect(room.state).toBe('gameOver')
    expect(room.snapshot.context.winner).toBe('a')
    // What a's own page is told of its seat (the server keeps a dropped player's frames for its resume).
    const shown = roomStates(room, 'a').map((state) => state.players[0]!.seat)
    expect(shown.filter((seat, i) => seat !== shown[i - 1])).toEqual([SeatState.JOINED, SeatState.READY, SeatState.PLAYING, SeatState.DROPPED, SeatState.PLAYING])
  })

  it('a cycle that crashes while its player is dropped is out when it resumes; after the round, joined', () => {
    const room = riding()
    // a turns up and drops: at the top after step 3, into the wall at step 4 with no one to steer.
    room.message('a', frame(TurnSchema, { direction: Direction.UP }))
    room.drop('a')
    ticks(room, 8)
    expect(room.state).toBe('gameOver')
    expect(room.snapshot.context.winner).toBe('b')
    expect(room.snapshot.context.seats[0]).toMatchObject({ state: 'dropped', resumeTo: 'out' })
    room.resume('a')
    expect(seatsShown(room, 'b')).toEqual([
      [0, SeatState.OUT],
      [1, SeatState.PLAYING],
    ])
    // Dropped again as the pause ends: the lobby seats it joined, and so does its resume.
    room.drop('a')
    ticks(room, 4)
    expect(room.state).toBe('lobby')
    expect(room.snapshot.context.seats.map((seat) => [seat.state, seat.resumeTo])).toEqual([
      ['dropped', 'joined'],
      ['joined', undefined],
    ])
    room.resume('a')
    expect(seatsShown(room, 'b')).toEqual([
      [0, SeatState.JOINED],
      [1, SeatState.JOINED],
    ])
    expect(room.errors).toEqual([])
  })

  it('when the grace runs out, the player leaves with the loss reason: its cycle is out, its trail stays', () => {
    const room = riding()
    room.drop('a')
    ticks(room, 2)
    expect(room.leave('a', 'reset')).toBe(true)
    expect(room.state).toBe('gameOver')
    expect(room.snapshot.context.winner).toBe('b')
    expect(room.snapshot.context.seats.map((seat) => seat.id)).toEqual(['b'])
    expect(room.snapshot.context.world.riders[0]).toMatchObject({ slot: 0, alive: false, trail: [31, 32] })
  })

  it('in the lobby, a dropped player holds no one up, and comes back joined: a Ready does not survive a drop', () => {
    const room = createRoomTester(createArenaRoom(settings), { maxPlayers: 8, tickRate: 20 })
    for (const player of ['a', 'b', 'c']) room.join(player)
    for (const player of ['a', 'b']) room.message(player, frame(ReadySchema))
    expect(room.state).toBe('lobby')
    // c is not ready and drops: the countdown starts without it; back, it watches the round.
    room.drop('c')
    expect(room.state).toBe('countdown')
    room.resume('c')
    expect(room.snapshot.context.seats.map((seat) => seat.state)).toEqual(['ready', 'ready', 'joined'])
    // a ready player who drops in the countdown leaves too few ready: back to the lobby.
    room.drop('a')
    expect(room.state).toBe('lobby')
    room.resume('a')
    expect(room.snapshot.context.seats.map((seat) => seat.state)).toEqual(['joined', 'ready', 'joined'])
    for (const player of ['a', 'c']) room.message(player, frame(ReadySchema))
    expect(room.state).toBe('countdown')
    ticks(room, 4)
    expect(room.snapshot.context.world.riders.map((rider) => rider.slot)).toEqual([0, 1, 2])
  })
})
