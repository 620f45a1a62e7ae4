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
/**
 * a and b play; c only joins (in the lobby, or to watch a round): three full players make 4,000
 * paths, not 600. a's connection may drop and resume (the server's `resume`) in any phase; a
 * dropped a who never resumes leaves as the server says after the grace, with the loss's reason.
 */
const modelEvents: RoomEvent[] = [
  ...['a', 'b', 'c'].map((player): RoomEvent => ({ type: 'player.joined', player, userId: undefined, options: {} })),
  ...['a', 'b'].map((player) => message(player, frame(ReadySchema))),
  message('a', frame(HelloSchema, { name: 'alice' })),
  message('a', frame(TurnSchema, { direction: Direction.UP })),
  { type: 'player.left', player: 'a', reason: 'client-closed' },
  { type: 'player.dropped', player: 'a' },
  { type: 'player.resumed', player: 'a' },
  { type: 'room.tick', elapsed: 50, tick: 0 },
]
/** States are told apart by phase, seats, the pause counted and the round's step: enough to play rounds to their end. */
const modelView = (snapshot: AnyMachineSnapshot) => {
  const context = snapshot.context as ArenaContext
  return [snapshot.value, context.seats.map((seat) => `${seat.id}:${seat.state}${seat.resumeTo === undefined ? '' : `>${seat.resumeTo}`}`), context.ticks, context.world.step]
}

describe('the arena chart, model-based', () => {
  const model = roomModel(modelRoom, { maxPlayers: 3, tickRate: 20, events: modelEvents, view: modelView })

  it('generates paths from the chart and its seats', () => {
    expect(model.paths.length).toBeGreaterThan(20)
  })

  // With two riders a crash, or a drop in the countdown, ends the phase at once: a's seat is
  // dropped in these phases only.
  it("takes a's seat dropped in each phase, and back to each state a resume returns it to", () => {
    const reached = new Set<string>()
    for (const path of model.paths) {
      for (const { state, event } of path.steps) {
        const context = state.room.context as ArenaContext
        const a = context.seats.find((seat) => seat.id === 'a')
        if (a?.state === 'dropped') reached.add(`${context.phase} dropped>${a.resumeTo}`)
        if (event.type === 'player.resumed' && a !== undefined) reached.add(`resumed ${a.state}`)
      }
    }
    expect([...reached].sort()).toEqual([
      'gameOver dropped>joined',
      'gameOver dropped>out',
      'gameOver dropped>playing',
      'lobby dropped>joined',
      'playing dropped>playing',
      'resumed joined',
      'resumed out',
      'resumed playing',
    ])
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
