import { describe, expect, it } from 'vitest'
import { createActor, fromCallback } from 'xstate'
import { type GameLogicEvent, gameLogicMachine } from '../../machines/gameLogic.js'

describe('game-logic machine', () => {
  it('runs a drain when woken and returns to idle when it reports drained', () => {
    let drains = 0
    const actor = createActor(
      gameLogicMachine.provide({
        actors: {
          drain: fromCallback<GameLogicEvent>(({ sendBack }) => {
            drains++
            sendBack({ type: 'game.drained' })
          }),
        },
      }),
    )
    actor.start()
    expect(actor.getSnapshot().value).toBe('idle')
    actor.send({ type: 'game.wake' })
    expect(actor.getSnapshot().value).toBe('idle')
    expect(drains).toBe(1)
  })

  it('drains again when work arrived after the drain last looked', () => {
    let backlog = 2
    let drains = 0
    const actor = createActor(
      gameLogicMachine.provide({
        guards: { hasBacklog: () => backlog-- > 0 },
        actors: {
          drain: fromCallback<GameLogicEvent>(({ sendBack }) => {
            drains++
            sendBack({ type: 'game.drained' })
          }),
        },
      }),
    )
    actor.start()
    actor.send({ type: 'game.wake' })
    expect(drains).toBe(3)
    expect(actor.getSnapshot().value).toBe('idle')
  })

  it('stays running while a drain has not finished', () => {
    const actor = createActor(gameLogicMachine.provide({ actors: { drain: fromCallback(() => {}) } }))
    actor.start()
    actor.send({ type: 'game.wake' })
    actor.send({ type: 'game.wake' })
    expect(actor.getSnapshot().value).toEqual({ running: 'busy' })
  })
})

describe('game-logic machine: slow and stuck handlers', () => {
  function started() {
    const abandoned: number[] = []
    let drains = 0
    const actor = createActor(
      gameLogicMachine.provide({
        actions: { abandonHandler: () => void abandoned.push(drains) },
        actors: { drain: fromCallback(() => void drains++) },
      }),
    )
    actor.start()
    actor.send({ type: 'game.wake' })
    return { actor, abandoned, drains: () => drains }
  }

  it('shows a slow handler as running.stalled and returns to busy when it settles', () => {
    const { actor } = started()
    actor.send({ type: 'handler.slow' })
    expect(actor.getSnapshot().value).toEqual({ running: 'stalled' })
    actor.send({ type: 'handler.settled' })
    expect(actor.getSnapshot().value).toEqual({ running: 'busy' })
  })

  it.each(['busy', 'stalled'])('abandons a handler past its timeout from %s and starts a new drain', (from) => {
    const { actor, abandoned, drains } = started()
    if (from === 'stalled') actor.send({ type: 'handler.slow' })
    actor.send({ type: 'handler.timeout' })
    expect(abandoned).toEqual([1])
    expect(drains()).toBe(2)
    expect(actor.getSnapshot().value).toEqual({ running: 'busy' })
  })
})
