import { fromCallback, setup } from 'xstate'

/**
 * The one place user handlers run, one at a time, in arrival order.
 *
 * Events are queued by the injected runner in O(1); this actor is woken only when it is idle, so a
 * busy server pays no actor hop per message. While `running`, the invoked `drain` actor runs the
 * queue: synchronous handlers back to back, an async handler awaited before the next one starts.
 */
export type GameLogicEvent = { type: 'game.wake' } | { type: 'game.drained' }

export const gameLogicMachine = setup({
  types: {
    events: {} as GameLogicEvent,
  },
  guards: {
    /** Injected: events were queued after the drain actor last looked. */
    hasBacklog: () => false,
  },
  actors: {
    /** Injected: runs queued events until the queue is empty, then sends `game.drained`. */
    drain: fromCallback<GameLogicEvent>(({ sendBack }) => {
      sendBack({ type: 'game.drained' })
    }),
  },
}).createMachine({
  id: 'gameLogic',
  initial: 'idle',
  states: {
    idle: {
      on: { 'game.wake': 'running' },
    },
    running: {
      invoke: { src: 'drain' },
      on: {
        'game.drained': [{ guard: 'hasBacklog', target: 'running', reenter: true }, { target: 'idle' }],
      },
    },
  },
})

export type GameLogicMachine = typeof gameLogicMachine
