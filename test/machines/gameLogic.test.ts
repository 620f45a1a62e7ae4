import { describe, expect, it } from 'vitest'
import { createActor } from 'xstate'
import { gameLogicMachine } from '../../machines/gameLogic.js'

/** The machine with a drain the test finishes by hand: entering `running` starts one, leaving stops it. */
function started(options: { backlog?: () => boolean } = {}) {
  const calls: string[] = []
  const actor = createActor(
    gameLogicMachine.provide({
      actions: {
        startDrain: () => void calls.push('drain'),
        stopDrain: () => void calls.push('stop drain'),
        abandonHandler: () => void calls.push('abandon'),
      },
      guards: { hasBacklog: options.backlog ?? (() => false) },
    }),
  )
  actor.start()
  return { actor, calls }
}

describe('game-logic machine', () => {
  it('starts a drain when woken and returns to idle when it reports drained', () => {
    const { actor, calls } = started()
    expect(actor.getSnapshot().value).toBe('idle')
    actor.send({ type: 'game.wake' })
    expect(actor.getSnapshot().value).toEqual({ running: 'busy' })
    actor.send({ type: 'game.drained' })
    expect(actor.getSnapshot().value).toBe('idle')
    expect(calls).toEqual(['drain', 'stop drain'])
  })

  it('drains again when work arrived after the drain last looked', () => {
    let backlog = 2
    const { actor, calls } = started({ backlog: () => backlog-- > 0 })
    actor.send({ type: 'game.wake' })
    for (let i = 0; i < 3; i++) actor.send({ type: 'game.drained' })
    expect(actor.getSnapshot().value).toBe('idle')
    expect(calls).toEqual(['drain', 'stop drain', 'drain', 'stop drain', 'drain', 'stop drain'])
  })

  it('stays running while a drain has not finished', () => {
    const { actor, calls } = started()
    actor.send({ type: 'game.wake' })
    actor.send({ type: 'game.wake' })
    expect(actor.getSnapshot().value).toEqual({ running: 'busy' })
    expect(calls).toEqual(['drain'])
  })
})

describe('game-logic machine: slow and stuck handlers', () => {
  it('shows a slow handler as running.stalled and returns to busy when it settles', () => {
    const { actor } = started()
    actor.send({ type: 'game.wake' })
    actor.send({ type: 'handler.slow' })
    expect(actor.getSnapshot().value).toEqual({ running: 'stalled' })
    actor.send({ type: 'handler.settled' })
    expect(actor.getSnapshot().value).toEqual({ running: 'busy' })
  })

  it.each(['busy', 'stalled'])('abandons a handler past its timeout from %s: stops that drain, then starts a new one', (from) => {
    const { actor, calls } = started()
    actor.send({ type: 'game.wake' })
    if (from === 'stalled') actor.send({ type: 'handler.slow' })
    actor.send({ type: 'handler.timeout' })
    expect(calls).toEqual(['drain', 'stop drain', 'abandon', 'drain'])
    expect(actor.getSnapshot().value).toEqual({ running: 'busy' })
  })
})
