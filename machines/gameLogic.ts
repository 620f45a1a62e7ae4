import { setup } from 'xstate'

/**
 * The one place user handlers run, one at a time, in arrival order.
 *
 * Events are queued by the injected runner in O(1); this actor is woken only when it is idle, so a
 * busy server pays no actor hop per message. Entering `running` starts a drain of the queue:
 * synchronous handlers back to back, an async handler awaited before the next one starts; events
 * that come while it runs, or later while the game is quiet, are drained too, without a
 * transition. The game goes back to `idle` (`game.drained`) when the server's coarse sweep finds
 * it quiet, nothing queued and no handler pending, so a game whose messages each come in an
 * event-loop turn of their own pays no transition per message either. The drain is an entry/exit
 * pair rather than an invoked actor: a child actor per wake would double its cost. The sweep (not
 * a timer per handler) also reports a handler pending for long as `handler.slow`, and one pending
 * past `handlerTimeout` as `handler.timeout`: the game then abandons it, ignores its late result,
 * and goes on with the next event.
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
    /** Injected: run queued events, and those queued later while `running`; the sweep sends `game.drained` once the game is quiet. */
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
