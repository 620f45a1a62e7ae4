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
    expect(actor.getSnapshot().value).toBe('running')
  })
})
