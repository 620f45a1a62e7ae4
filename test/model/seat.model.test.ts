/**
 * The seat chart (machines/seat.ts) walked with @xstate/graph and every path replayed on a real
 * server over TCP with `resume` on, each event from its real cause: a join seats, a room that kicks
 * on the join leaves the seat unseated, a lost connection drops the seat and a resume takes it
 * again, and a leave, a kick, a GOODBYE or the end of the grace ends it. Coverage is measured from
 * the seat actors the server really ran.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { emit, SimulatedClock, setup } from 'xstate'
import { type RoomEmitted, type RoomEvent, type RoomInput, seatMachine } from '../../machines/index.js'
import { createServer, type Session } from '../../src/index.js'
import { Coverage, coverageLine } from '../../src/testing/coverage.js'
import { describePath, edgeTour, modelEvents } from '../../src/testing/paths.js'
import { RESUME_CONTROL_IDS, resumeFrame } from '../../src/resume/resumeControl.js'
import { RawPeer } from '../helpers/rawPeer.js'
import { frame } from '../helpers/frames.js'
import { waitFor } from '../helpers/wait.js'

type BouncerEvent = RoomEvent | { type: 'bounce'; player: string }

/** A room that kicks whoever joins with `{ kick: true }` at once, anyone who sends id 9, and whoever the game says to bounce. */
const bouncer = setup({ types: { events: {} as BouncerEvent, input: {} as RoomInput, emitted: {} as RoomEmitted } }).createMachine({
  on: {
    'player.joined': { guard: ({ event }) => event.options.kick === true, actions: emit(({ event }) => ({ type: 'kick' as const, player: event.player })) },
    'player.message': { guard: ({ event }) => event.message.id === 9, actions: emit(({ event }) => ({ type: 'kick' as const, player: event.player })) },
    bounce: { actions: emit(({ event }) => ({ type: 'kick' as const, player: event.player })) },
  },
})

const GRACE = 1_000

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
    const clock = new SimulatedClock()
    const server = createServer({
      clock,
      resume: { grace: GRACE },
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
    const peers = [await RawPeer.open(port)]
    try {
      // With resume the game hears of a session at its first frame, which brings its token.
      await peers[0]!.write(frame(1))
      await waitFor(() => sessions.length === 1)
      const session = sessions[0]!
      const peer = () => peers.at(-1)!
      const token = () => peer().frames.filter((f) => f.id === RESUME_CONTROL_IDS.TOKEN).at(-1)?.data
      const steps = path.steps.slice(1)
      const member = () => server.rooms.of(session).length === 1
      // The first step decides how the join is made: a seat.leave straight from reserved is a room
      // that kicks during the join.
      const kickedOnJoin = steps[0]?.event.type === 'seat.leave'
      const room = server.rooms.joinOrCreate(session, 'bouncer', { options: { kick: kickedOnJoin } })
      const seat = () => seats.get(`seat:${room.id}:${session.id}`)
      const bounce: BouncerEvent = { type: 'bounce', player: session.id }
      for (const [i, step] of steps.entries()) {
        const event = step.event
        const dropped = i > 0 && steps[i - 1]!.state.value === 'dropped'
        if (event.type === 'seat.drop') {
          await waitFor(() => token() !== undefined, { message: 'a resume token' })
          peer().socket.end()
        } else if (event.type === 'seat.resume') {
          const message = resumeFrame(token()!, 0)
          peers.push(await RawPeer.open(port))
          await peer().write(frame(message.id, message.data))
        } else if (event.type === 'seat.leave' && !(i === 0 && kickedOnJoin)) {
          if (event.reason === 'left') server.rooms.leave(session)
          // A dropped player sends nothing: the game has the room kick it.
          else if (event.reason === 'kicked' && dropped) server.rooms.send(room.id, bounce)
          else if (event.reason === 'kicked') await peer().write(frame(9))
          // The session ends: dropped, when the grace runs out; seated, when the client says GOODBYE.
          else if (dropped) clock.increment(GRACE * 2)
          else await peer().write(frame(RESUME_CONTROL_IDS.GOODBYE))
        }
        const expected = { value: step.state.value, status: step.state.status, reason: step.state.context.reason }
        await waitFor(() => JSON.stringify(seat()) === JSON.stringify(expected), {
          message: () => `step ${i} (${event.type}): the seat is ${JSON.stringify(seat())}, the path says ${JSON.stringify(expected)}`,
        })
        const inRoom = step.state.value === 'seated' || step.state.value === 'dropped'
        expect(member(), `step ${i}: in the room exactly while seated or dropped`).toBe(inRoom)
      }
    } finally {
      for (const peer of peers) peer.destroy()
      await server.stop()
    }
  })

  it('covers every state and transition of the seat chart on the real server', () => {
    expect(coverage.missing()).toBe('')
  })
})
