/**
 * Rooms over real TCP: the control protocol, matching that never overfills, join/leave order
 * (also when the session goes during an async join step), routing, ticks on the injected clock,
 * a failing room stopped alone, and a snapshot restored in another server mid-game.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { assign, emit, setup } from 'xstate'
import { BAD_MOVE, BOARD, MOVE, RESULT, ticTacToeRoom } from '../examples/tic-tac-toe/ticTacToeRoom.js'
import { broadcast, type RoomEmitted, type RoomEvent, type RoomInput } from '../machines/index.js'
import type { Client } from '../src/client.js'
import { RoomError } from '../src/errors.js'
import type { Message } from '../src/protocol/message.js'
import { ROOM_CONTROL_IDS } from '../src/rooms/roomControl.js'
import { cleanup, type Harness, openClient, SimulatedClock, startServer } from './helpers/harness.js'
import { waitFor } from './helpers/wait.js'

afterEach(cleanup)

const json = (body: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(body))
const parse = (message: Message): Record<string, unknown> => JSON.parse(new TextDecoder().decode(message.data)) as Record<string, unknown>

/** Receives until a message with `id` arrives; returns it (others are dropped). */
async function next(client: Client, id: number): Promise<Message> {
  for (;;) {
    const message = await client.receive()
    if (message.id === id) return message
  }
}

/** A room that logs every event it hears, per player, and echoes each message to the room. */
const spyRoom = setup({
  types: { context: {} as { log: string[] }, events: {} as RoomEvent | { type: 'explode' }, input: {} as RoomInput, emitted: {} as RoomEmitted },
  actions: {
    record: assign({ log: ({ context, event }) => [...context.log, describeEvent(event)] }),
    echo: emit(({ event }) => broadcast((event as Extract<RoomEvent, { type: 'player.message' }>).message)),
    explode: () => {
      throw new Error('the room blew up')
    },
  },
}).createMachine({
  context: { log: [] },
  on: {
    'player.joined': { actions: 'record' },
    'player.left': { actions: 'record' },
    'player.message': { actions: ['record', 'echo'] },
    'room.tick': { actions: 'record' },
    explode: { actions: 'explode' },
  },
})

function describeEvent(event: RoomEvent | { type: 'explode' }): string {
  switch (event.type) {
    case 'player.joined':
      return `joined ${event.player}`
    case 'player.left':
      return `left ${event.player} ${event.reason}`
    case 'player.message':
      return `message ${event.player} ${event.message.id}`
    case 'room.tick':
      return `tick ${event.tick} +${event.elapsed}`
    default:
      return event.type
  }
}

/** The spy room's log, from its persisted snapshot. */
function logOf(h: Harness, roomId: string): string[] {
  return (h.server.rooms.snapshot(roomId).snapshot as unknown as { context: { log: string[] } }).context.log
}

describe('tic-tac-toe over the control protocol', () => {
  it('two clients join by name, play to a win, hear the result, and the room ends', async () => {
    const h = await startServer({ echo: false })
    h.server.room('tictactoe', { machine: ticTacToeRoom, maxPlayers: 2 })
    const x = await openClient(h.port)
    const o = await openClient(h.port)
    x.send({ id: ROOM_CONTROL_IDS.JOIN, data: json({ name: 'tictactoe' }) })
    const joinedX = parse(await next(x, ROOM_CONTROL_IDS.JOINED))
    o.send({ id: ROOM_CONTROL_IDS.JOIN, data: json({ name: 'tictactoe' }) })
    const joinedO = parse(await next(o, ROOM_CONTROL_IDS.JOINED))
    expect(joinedO.roomId).toBe(joinedX.roomId)
    const [room] = h.server.rooms.list('tictactoe')
    expect(room).toMatchObject({ name: 'tictactoe', maxPlayers: 2, locked: true, state: 'playing' })
    expect([...(await next(x, BOARD)).data]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])

    // O moves out of turn: refused, nothing changes.
    o.send({ id: MOVE, data: Uint8Array.from([4]) })
    await next(o, BAD_MOVE)
    for (const [player, cell] of [
      [x, 0],
      [o, 3],
      [x, 1],
      [o, 4],
      [x, 2],
    ] as const) {
      player.send({ id: MOVE, data: Uint8Array.from([cell]) })
      await next(x, BOARD)
    }
    expect([...(await next(x, RESULT)).data]).toEqual([1])
    expect([...(await next(o, RESULT)).data]).toEqual([1])
    expect(parse(await next(x, ROOM_CONTROL_IDS.LEFT))).toEqual({ roomId: joinedX.roomId, reason: 'room-closed' })
    await waitFor(() => h.server.rooms.list().length === 0)
    // Their sessions stay open, and non-room messages reach onMessage again.
    x.send({ id: 7, data: new Uint8Array(0) })
    await waitFor(() => h.messages.some((m) => m.message.id === 7))
  })

  it('a player who leaves mid-game forfeits: the other hears RESULT 3', async () => {
    const h = await startServer({ echo: false })
    h.server.room('tictactoe', { machine: ticTacToeRoom, maxPlayers: 2 })
    const x = await openClient(h.port)
    const o = await openClient(h.port)
    for (const client of [x, o]) client.send({ id: ROOM_CONTROL_IDS.JOIN, data: json({ name: 'tictactoe' }) })
    await next(o, BOARD)
    await x.close()
    expect([...(await next(o, RESULT)).data]).toEqual([3])
  })

  it('refuses an unknown room type, a missing room and a body that is not JSON, with REFUSED and its code', async () => {
    const h = await startServer({ echo: false })
    h.server.room('tictactoe', { machine: ticTacToeRoom, maxPlayers: 2 })
    const client = await openClient(h.port)
    client.send({ id: ROOM_CONTROL_IDS.JOIN, data: json({ name: 'chess' }) })
    expect(parse(await next(client, ROOM_CONTROL_IDS.REFUSED)).code).toBe('unknown-room-type')
    client.send({ id: ROOM_CONTROL_IDS.JOIN, data: json({ roomId: 'nope' }) })
    expect(parse(await next(client, ROOM_CONTROL_IDS.REFUSED)).code).toBe('room-not-found')
    client.send({ id: ROOM_CONTROL_IDS.JOIN, data: Uint8Array.from([0xff, 0x00]) })
    expect(parse(await next(client, ROOM_CONTROL_IDS.REFUSED)).code).toBe('room-not-found')
    expect(h.server.rooms.list()).toEqual([])
  })
})

describe('matching from handlers', () => {
  it('1,000 sessions joining at once fill rooms of 10 exactly, never more', async () => {
    const h = await startServer({ echo: false })
    h.server.room('arena', { machine: spyRoom, maxPlayers: 10 })
    h.onConnect((session) => void h.server.rooms.joinOrCreate(session, 'arena'))
    await Promise.all(Array.from({ length: 1_000 }, () => openClient(h.port)))
    await waitFor(() => h.server.rooms.list().reduce((n, room) => n + room.players.length, 0) === 1_000, { timeout: 10_000 })
    const rooms = h.server.rooms.list('arena')
    expect(rooms).toHaveLength(100)
    for (const room of rooms) expect(room.players).toHaveLength(10)
  })

  it('every join is followed by exactly one leave, never the reverse, even when the session goes during an async join step', async () => {
    const h = await startServer({ echo: false })
    h.server.room('arena', { machine: spyRoom, maxPlayers: 100, keepWhenEmpty: true })
    const refused: string[] = []
    const started: string[] = []
    h.onMessage(async (session) => {
      started.push(session.id)
      // An "auth" step: the session may close while it is pending.
      await new Promise((resolve) => setTimeout(resolve, 20))
      try {
        h.server.rooms.joinOrCreate(session, 'arena')
      } catch (error) {
        if (error instanceof RoomError) refused.push(error.code)
      }
    })
    const stays = await openClient(h.port)
    stays.send({ id: 1, data: new Uint8Array(0) })
    await waitFor(() => started.length === 1 && h.server.rooms.list().length === 1)
    const goes = await openClient(h.port)
    goes.send({ id: 1, data: new Uint8Array(0) })
    await waitFor(() => started.length === 2)
    goes.reset()
    await waitFor(() => h.disconnects.length === 1 && h.server.rooms.list()[0]?.players.length === 1)
    await stays.close()
    await waitFor(() => h.disconnects.length === 2)
    const [room] = h.server.rooms.list('arena')
    const log = logOf(h, room!.id)
    const stayed = h.connects.find((s) => s.id !== h.disconnects[0]!.session.id)!.id
    expect(log).toEqual([`joined ${stayed}`, `left ${stayed} client-closed`])
    expect(refused).toEqual(['session-closed'])
  })

  it('routes a seated player’s frames to its room only, and others to onMessage', async () => {
    const h = await startServer({ echo: false })
    h.server.room('arena', { machine: spyRoom, maxPlayers: 4 })
    h.onConnect((session) => {
      if (h.connects.length === 1) h.server.rooms.joinOrCreate(session, 'arena')
    })
    const seated = await openClient(h.port)
    const lone = await openClient(h.port)
    seated.send({ id: 5, data: Uint8Array.from([1]) })
    expect((await seated.receive()).id).toBe(5)
    lone.send({ id: 6, data: Uint8Array.from([2]) })
    await waitFor(() => h.messages.length === 1)
    expect(h.messages.map((m) => m.message.id)).toEqual([6])
  })

  it('a room that throws is stopped alone: onError hears room-failed, its players stay connected, other rooms go on', async () => {
    const h = await startServer({ echo: false })
    h.server.room('arena', { machine: spyRoom, maxPlayers: 1 })
    h.onConnect((session) => void h.server.rooms.joinOrCreate(session, 'arena'))
    const a = await openClient(h.port)
    const b = await openClient(h.port)
    await waitFor(() => h.server.rooms.list().length === 2)
    const [broken, healthy] = h.server.rooms.list()
    h.server.rooms.send(broken!.id, { type: 'explode' })
    await waitFor(() => h.errors.some((e) => e.error.code === 'room-failed'))
    expect(h.server.rooms.list().map((room) => room.id)).toEqual([healthy!.id])
    // A player who joined with JOIN is told why, in a LEFT frame.
    const watcher = await openClient(h.port)
    watcher.send({ id: ROOM_CONTROL_IDS.JOIN, data: json({ name: 'arena' }) })
    const { roomId } = parse(await next(watcher, ROOM_CONTROL_IDS.JOINED))
    h.server.rooms.send(roomId as string, { type: 'explode' })
    expect(parse(await next(watcher, ROOM_CONTROL_IDS.LEFT))).toEqual({ roomId, reason: 'room-failed' })
    const inHealthy = healthy!.players[0] === h.connects[0]!.id ? a : b
    inHealthy.send({ id: 9, data: new Uint8Array(0) })
    expect((await inHealthy.receive()).id).toBe(9)
    expect(h.disconnects).toHaveLength(0)
  })
})

describe('ticks', () => {
  it('a room with tickRate 20 hears a tick every 50 ms of the injected clock, judged at its due time', async () => {
    const clock = new SimulatedClock()
    const h = await startServer({ clock, echo: false })
    h.server.room('arena', { machine: spyRoom, maxPlayers: 4, tickRate: 20 })
    h.onConnect((session) => void h.server.rooms.joinOrCreate(session, 'arena'))
    await openClient(h.port)
    await waitFor(() => h.server.rooms.list().length === 1)
    for (let i = 0; i < 4; i++) clock.increment(50)
    const [room] = h.server.rooms.list()
    await waitFor(() => logOf(h, room!.id).length === 5)
    expect(logOf(h, room!.id).slice(1)).toEqual(['tick 1 +50', 'tick 2 +50', 'tick 3 +50', 'tick 4 +50'])
  })
})

describe('snapshots', () => {
  it('a game saved mid-match is restored in another server, and its players rejoin and finish it', async () => {
    const LOGIN = 2
    const login = (h: Harness) => h.onMessage((session, message) => session.bindUser(new TextDecoder().decode(message.data)))
    const player = async (h: Harness, name: string, join: Record<string, unknown>) => {
      const client = await openClient(h.port)
      client.send({ id: LOGIN, data: new TextEncoder().encode(name) })
      client.send({ id: ROOM_CONTROL_IDS.JOIN, data: json(join) })
      await next(client, ROOM_CONTROL_IDS.JOINED)
      return client
    }
    const first = await startServer({ echo: false })
    first.server.room('tictactoe', { machine: ticTacToeRoom, maxPlayers: 2 })
    login(first)
    const x = await player(first, 'xena', { name: 'tictactoe' })
    const o = await player(first, 'oscar', { name: 'tictactoe' })
    await next(o, BOARD)
    x.send({ id: MOVE, data: Uint8Array.from([0]) })
    await next(o, BOARD)
    const [room] = first.server.rooms.list()
    // Through JSON, as a snapshot kept in a store would be.
    const saved = JSON.parse(JSON.stringify(first.server.rooms.snapshot(room!.id)))

    const second = await startServer({ echo: false })
    second.server.room('tictactoe', { machine: ticTacToeRoom, maxPlayers: 2 })
    login(second)
    expect(second.server.rooms.restore(saved)).toMatchObject({ id: room!.id, state: 'playing', players: [] })
    const o2 = await player(second, 'oscar', { roomId: room!.id })
    expect([...(await next(o2, BOARD)).data]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 2])
    const x2 = await player(second, 'xena', { roomId: room!.id })
    for (const [client, cell] of [
      [o2, 3],
      [x2, 1],
      [o2, 4],
      [x2, 2],
    ] as const) {
      client.send({ id: MOVE, data: Uint8Array.from([cell]) })
      await next(o2, BOARD)
    }
    expect([...(await next(x2, RESULT)).data]).toEqual([1])
  })
})

/** A lobby: chat on id 50, kicks a player who sends id 66, locks on 70, unlocks on 71, sets metadata on 72. */
const lobbyRoom = setup({
  types: { context: {} as { log: string[] }, events: {} as RoomEvent, input: {} as RoomInput, emitted: {} as RoomEmitted },
  actions: {
    hear: assign({ log: ({ context, event }) => [...context.log, describeEvent(event)] }),
  },
}).createMachine({
  context: { log: [] },
  on: {
    'player.joined': { actions: 'hear' },
    'player.left': { actions: 'hear' },
    'player.message': [
      { guard: ({ event }) => event.message.id === 66, actions: ['hear', emit(({ event }) => ({ type: 'kick' as const, player: event.player }))] },
      { guard: ({ event }) => event.message.id === 70, actions: ['hear', emit({ type: 'lock' })] },
      { guard: ({ event }) => event.message.id === 71, actions: ['hear', emit({ type: 'unlock' })] },
      { guard: ({ event }) => event.message.id === 72, actions: ['hear', emit({ type: 'metadata', metadata: { mode: 'ranked' } })] },
      { actions: ['hear', emit(({ event }) => broadcast(event.message, { except: event.player }))] },
    ],
  },
})

describe('the rooms API', () => {
  it('of, get, list; a filter on metadata; lock and unlock keep a room out of matching and let it back', async () => {
    const h = await startServer({ echo: false })
    h.server.room('lobby', { machine: lobbyRoom, maxPlayers: 8, metadata: (options) => ({ mode: options.mode ?? 'casual' }) })
    const [a, b, c] = await Promise.all([openClient(h.port), openClient(h.port), openClient(h.port)])
    await waitFor(() => h.connects.length === 3)
    const [sa, sb, sc] = h.connects
    const casual = h.server.rooms.joinOrCreate(sa!, 'lobby')
    const ranked = h.server.rooms.joinOrCreate(sb!, 'lobby', { options: { mode: 'ranked' }, filter: (metadata) => metadata.mode === 'ranked' })
    expect(ranked.id).not.toBe(casual.id)
    expect(h.server.rooms.get(ranked.id)?.metadata).toEqual({ mode: 'ranked' })
    expect(h.server.rooms.of(sa!).map((room) => room.id)).toEqual([casual.id])
    expect(h.server.rooms.list('lobby').map((room) => room.id).sort()).toEqual([casual.id, ranked.id].sort())
    // Locked: matching creates a new room for c instead.
    a.send({ id: 70, data: new Uint8Array(0) })
    await waitFor(() => h.server.rooms.get(casual.id)?.locked === true)
    const third = h.server.rooms.joinOrCreate(sc!, 'lobby', { filter: (metadata) => metadata.mode === 'casual' })
    expect(third.id).not.toBe(casual.id)
    h.server.rooms.leave(sc!)
    a.send({ id: 71, data: new Uint8Array(0) })
    await waitFor(() => h.server.rooms.get(casual.id)?.locked === false)
    expect(h.server.rooms.joinOrCreate(sc!, 'lobby', { filter: (metadata) => metadata.mode === 'casual' }).id).toBe(casual.id)
    // A broadcast from a reaches c, not a itself.
    a.send({ id: 5, data: Uint8Array.from([9]) })
    expect(await c.receive()).toMatchObject({ id: 5 })
    // The room sets its metadata; a kick takes b's seat, and b's session stays open.
    b.send({ id: 72, data: new Uint8Array(0) })
    await waitFor(() => h.server.rooms.get(ranked.id)?.metadata.mode === 'ranked')
    c.send({ id: 66, data: new Uint8Array(0) })
    await waitFor(() => h.server.rooms.of(sc!).length === 0)
    expect(logOf(h, casual.id).at(-1)).toBe(`left ${sc!.id} kicked`)
    expect(h.disconnects).toHaveLength(0)
  })

  it('a session in two rooms sends each frame to the latest room that accepts it; others go to onMessage', async () => {
    const h = await startServer({ echo: false })
    h.server.room('chat', { machine: spyRoom, maxPlayers: 8, accepts: (message) => message.id === 50 })
    h.server.room('match', { machine: spyRoom, maxPlayers: 2, accepts: (message) => message.id >= 1 && message.id < 50 })
    const client = await openClient(h.port)
    await waitFor(() => h.connects.length === 1)
    const session = h.connects[0]!
    const chat = h.server.rooms.joinOrCreate(session, 'chat')
    const match = h.server.rooms.joinOrCreate(session, 'match')
    client.send({ id: 50, data: new Uint8Array(0) })
    client.send({ id: 3, data: new Uint8Array(0) })
    client.send({ id: 77, data: new Uint8Array(0) })
    await waitFor(() => h.messages.length === 1)
    expect(logOf(h, chat.id)).toEqual([`joined ${session.id}`, `message ${session.id} 50`])
    expect(logOf(h, match.id)).toEqual([`joined ${session.id}`, `message ${session.id} 3`])
    expect(h.messages.map((m) => m.message.id)).toEqual([77])
  })

  it('keepWhenEmpty keeps a room after its last player; LEAVE takes a control client out with LEFT', async () => {
    const h = await startServer({ echo: false })
    h.server.room('hall', { machine: spyRoom, maxPlayers: 4, keepWhenEmpty: true })
    const client = await openClient(h.port)
    client.send({ id: ROOM_CONTROL_IDS.JOIN, data: json({ name: 'hall' }) })
    const { roomId } = parse(await next(client, ROOM_CONTROL_IDS.JOINED))
    client.send({ id: ROOM_CONTROL_IDS.LEAVE, data: json({}) })
    expect(parse(await next(client, ROOM_CONTROL_IDS.LEFT))).toEqual({ roomId, reason: 'left' })
    expect(h.server.rooms.get(roomId as string)?.players).toEqual([])
  })

  it('refuses bad room definitions and joins with typed errors', async () => {
    const h = await startServer({ echo: false })
    expect(() => h.server.room('x', { machine: {} as never, maxPlayers: 2 })).toThrow(/`machine` to be an XState machine/)
    expect(() => h.server.room('x', { machine: spyRoom, maxPlayers: 0 })).toThrow(/`maxPlayers`/)
    expect(() => h.server.room('x', { machine: spyRoom, maxPlayers: 2, tickRate: -1 })).toThrow(/`tickRate`/)
    h.server.room('x', { machine: spyRoom, maxPlayers: 1 })
    expect(() => h.server.room('x', { machine: spyRoom, maxPlayers: 1 })).toThrow(/already defined/)
    await openClient(h.port)
    await openClient(h.port)
    await waitFor(() => h.connects.length === 2)
    const room = h.server.rooms.joinOrCreate(h.connects[0]!, 'x')
    expect(() => h.server.rooms.join(h.connects[1]!, room.id)).toThrow(expect.objectContaining({ code: 'room-full' }))
    expect(() => h.server.rooms.joinOrCreate(h.connects[1]!, 'y')).toThrow(expect.objectContaining({ code: 'unknown-room-type' }))
    expect(() => h.server.rooms.join(h.connects[1]!, 'nope')).toThrow(expect.objectContaining({ code: 'room-not-found' }))
    expect(() => h.server.rooms.restore(h.server.rooms.snapshot(room.id))).toThrow(expect.objectContaining({ code: 'room-exists' }))
  })
})
