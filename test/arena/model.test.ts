/**
 * Model-based tests of the arena's own chart through zerostate/testing: paths generated from the
 * room machine and its seats (a small arena, short pauses, one step a tick, so a round ends in a
 * few ticks), each replayed as the server runs a room, and the coverage figure docs/game.md quotes.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { AnyMachineSnapshot } from 'xstate'
import { frame } from '../../examples/arena/arenaMessages.js'
import { type ArenaContext, createArenaRoom } from '../../examples/arena/arenaRoom.js'
import { Direction, HelloSchema, ReadySchema, TurnSchema } from '../../examples/arena/gen/arena_pb.js'
import type { RoomEvent } from '../../machines/index.js'
import { describeRoomPath, roomModel } from '../../src/testing/index.js'

const modelRoom = createArenaRoom({ width: 6, height: 4, ticksPerStep: 1, countdownTicks: 2, gameOverTicks: 2 })
const message = (player: string, message: { id: number; data: Uint8Array }): RoomEvent => ({ type: 'player.message', player, message })
/** a and b play; c only joins (in the lobby, or to watch a round): three full players make 4,000 paths, not 600. */
const modelEvents: RoomEvent[] = [
  ...['a', 'b', 'c'].map((player): RoomEvent => ({ type: 'player.joined', player, userId: undefined, options: {} })),
  ...['a', 'b'].map((player) => message(player, frame(ReadySchema))),
  message('a', frame(HelloSchema, { name: 'alice' })),
  message('a', frame(TurnSchema, { direction: Direction.UP })),
  { type: 'player.left', player: 'a', reason: 'client-closed' },
  { type: 'room.tick', elapsed: 50, tick: 0 },
]
/** States are told apart by phase, seats, the pause counted and the round's step: enough to play rounds to their end. */
const modelView = (snapshot: AnyMachineSnapshot) => {
  const context = snapshot.context as ArenaContext
  return [snapshot.value, context.seats.map((seat) => `${seat.id}:${seat.state}`), context.ticks, context.world.step]
}

describe('the arena chart, model-based', () => {
  const model = roomModel(modelRoom, { maxPlayers: 3, tickRate: 20, events: modelEvents, view: modelView })

  it('generates paths from the chart and its seats', () => {
    expect(model.paths.length).toBeGreaterThan(20)
  })

  it('replays every path as the server would run it', () => {
    for (const path of model.paths) expect(() => model.replay(path), describeRoomPath(path)).not.toThrow()
  })

  it('covers every state and transition, as docs/game.md says', () => {
    expect(model.coverage.missing()).toBe('')
    expect(model.coverage.complete).toBe(true)
    const docs = readFileSync(new URL('../../docs/game.md', import.meta.url), 'utf8')
    expect(/<!-- output: arena coverage -->\n```\n(.*)\n```/.exec(docs)?.[1]).toBe(model.line())
  })
})
