/**
 * The seat chart (machines/seat.ts) walked with @xstate/graph and every path replayed on a real
 * server over TCP, each event from its real cause: a join seats, a room that kicks on the join
 * leaves the seat unseated, and a leave, a kick or a disconnect ends it. Coverage is measured from
 * the seat actors the server really ran.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { emit, setup } from 'xstate'
import { type RoomEmitted, type RoomEvent, type RoomInput, seatMachine } from '../../machines/index.js'
import { createServer, type Session } from '../../src/index.js'
import { Coverage, coverageLine } from '../../src/testing/coverage.js'
import { describePath, edgeTour, modelEvents } from '../../src/testing/paths.js'
import { RawPeer } from '../helpers/rawPeer.js'
import { frame } from '../helpers/frames.js'
import { waitFor } from '../helpers/wait.js'

/** A room that kicks whoever joins with `{ kick: true }` at once, and anyone who sends id 9. */
const bouncer = setup({ types: { events: {} as RoomEvent, input: {} as RoomInput, emitted: {} as RoomEmitted } }).createMachine({
  on: {
    'player.joined': { guard: ({ event }) => event.options.kick === true, actions: emit(({ event }) => ({ type: 'kick' as const, player: event.player })) },
    'player.message': { guard: ({ event }) => event.message.id === 9, actions: emit(({ event }) => ({ type: 'kick' as const, player: event.player })) },
  },
})

const REASONS = ['left', 'kicked', 'client-closed'] as const
const input = { player: 'p', roomId: 'r' }
/**
 * A seat is reserved and taken in one synchronous call, so nothing but the room itself (a kick as
 * it hears the join) can end a reserved seat in one process; the cluster's remote reservations
 * will make the other reasons reachable from `reserved` too.
 */
const paths = edgeTour(seatMachine, {
  input,
  events: modelEvents(seatMachine, { 'seat.leave': REASONS.map((reason) => ({ reason })) }),
  allow: (snapshot, event) => !(snapshot.value === 'reserved' && event.type === 'seat.leave' && event.reason !== 'kicked'),
})
const coverage = new Coverage(seatMachine)

afterAll(() => console.log(coverageLine(coverage.figures('seat (tcp)', paths.length))))

describe('seat machine: the edge tour over TCP', () => {
  it.each(paths.map((path) => [describePath(path), path] as const))('%s', async (_, path) => {
    // The seat actor's latest snapshot, from the inspection stream.
    const seats = new Map<string, { value: unknown; status: string; reason: unknown }>()
    const server = createServer({
      inspectPayloads: true,
      inspect: (event) => {
        coverage.observe(event)
        const id = (event.actorRef as { id?: string }).id ?? ''
        if (event.type === '@xstate.snapshot' && id.startsWith('seat:')) {
          const snapshot = event.snapshot as unknown as { value: unknown; status: string; context: { reason: unknown } }
          seats.set(id, { value: snapshot.value, status: snapshot.status, reason: snapshot.context.reason })
        }
      },
    })
    server.room('bouncer', { machine: bouncer, maxPlayers: 4, keepWhenEmpty: true })
    const sessions: Session[] = []
    server.onConnect((session) => void sessions.push(session))
    const { port } = await server.listen({ port: 0 })
    const peer = await RawPeer.open(port)
    try {
      await waitFor(() => sessions.length === 1)
      const session = sessions[0]!
      const steps = path.steps.slice(1)
      const seated = () => server.rooms.of(session).length === 1
      // The first step decides how the join is made: a seat.leave straight from reserved is a room
      // that kicks during the join.
      const kickedOnJoin = steps[0]?.event.type === 'seat.leave'
      const room = server.rooms.joinOrCreate(session, 'bouncer', { options: { kick: kickedOnJoin } })
      const seat = () => seats.get(`seat:${room.id}:${session.id}`)
      for (const [i, step] of steps.entries()) {
        const event = step.event
        if (event.type === 'seat.leave' && !(i === 0 && kickedOnJoin)) {
          if (event.reason === 'left') server.rooms.leave(session)
          else if (event.reason === 'kicked') await peer.write(frame(9))
          else peer.socket.end()
        }
        const expected = { value: step.state.value, status: step.state.status, reason: step.state.context.reason }
        await waitFor(() => JSON.stringify(seat()) === JSON.stringify(expected), {
          message: () => `step ${i} (${event.type}): the seat is ${JSON.stringify(seat())}, the path says ${JSON.stringify(expected)}`,
        })
        expect(seated(), `step ${i}: in the room exactly while seated`).toBe(step.state.value === 'seated')
      }
    } finally {
      peer.destroy()
      await server.stop()
    }
  })

  it('covers every state and transition of the seat chart on the real server', () => {
    expect(coverage.missing()).toBe('')
  })
})
