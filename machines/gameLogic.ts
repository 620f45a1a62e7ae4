import { setup } from 'xstate'

/**
 * The one place user handlers run, one at a time, in arrival order.
 *
 * Events are queued by the injected runner in O(1); this actor is woken only when it is idle, so a
 * busy server pays no actor hop per message. Entering `running` starts a drain of the queue:
 * synchronous handlers back to back, an async handler awaited before the next one starts. The drain
 * is an entry/exit pair rather than an invoked actor, since a wake can happen every event-loop turn
 * and a child actor per wake would double its cost. The server's coarse sweep (not a timer per
 * handler) reports a handler pending for long as `handler.slow`, and one pending past
 * `handlerTimeout` as `handler.timeout`: the game then abandons it, ignores its late result, and
 * goes on with the next event.
 */
export type GameLogicEvent =
  | { type: 'game.wake' }
  | { type: 'game.drained' }
  | { type: 'handler.slow' }
  | { type: 'handler.settled' }
  | { type: 'handler.timeout' }

export const gameLogicMachine = setup({
  types: {
    events: {} as GameLogicEvent,
  },
  actions: {
    /** Injected: report `handler-timeout` and drop the pending handler. */
    abandonHandler: () => {},
    /** Injected: run queued events until the queue has stayed empty for an event-loop turn, then send `game.drained`. */
    startDrain: () => {},
    /** Injected: the drain started on entry must not run another handler. */
    stopDrain: () => {},
  },
  guards: {
    /** Injected: events were queued after the drain last looked. */
    hasBacklog: () => false,
  },
}).createMachine({
  id: 'gameLogic',
  initial: 'idle',
  states: {
    idle: {
      on: { 'game.wake': 'running' },
    },
    running: {
      entry: 'startDrain',
      exit: 'stopDrain',
      initial: 'busy',
      on: {
        'game.drained': [{ guard: 'hasBacklog', target: 'running', reenter: true }, { target: 'idle' }],
        'handler.timeout': { target: 'running', reenter: true, actions: 'abandonHandler' },
      },
      states: {
        busy: {
          on: { 'handler.slow': 'stalled' },
        },
        /** A handler has been pending for a while; visible in the inspector before it times out. */
        stalled: {
          on: { 'handler.settled': 'busy' },
        },
      },
    },
  },
})

export type GameLogicMachine = typeof gameLogicMachine
