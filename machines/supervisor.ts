import { fromPromise, setup } from 'xstate'

/**
 * The life of one server: listening, then a graceful stop in three steps: let queued game work
 * finish, close every session, let the disconnect handlers finish.
 *
 * The supervisor owns the session registry without hearing of each session: the server creates
 * the connection actors as children of a registry actor (src/connectionFactory.ts), itself a child
 * of the supervisor, whose snapshot is the number of sessions alive. A statechart transition per
 * session opened and closed was a third of XState's share of a connection's cost; the supervisor
 * needs only to hear, while it closes, that the registry is empty (`registry.empty`).
 */
export interface SupervisorInput {
  /** Upper bound for each of the two drain steps of a stop. @default 5_000 */
  drainTimeout?: number
}

export interface SupervisorContext {
  drainTimeout: number
}

export type SupervisorEvent =
  | { type: 'server.listen' }
  | { type: 'server.listening' }
  | { type: 'server.failed' }
  | { type: 'server.stop' }
  /** Every session the stop closed has left the registry (or none was open). */
  | { type: 'registry.empty' }

export const supervisorMachine = setup({
  types: {
    input: {} as SupervisorInput,
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
  },
  actions: {
    /** Injected: close the listening socket. */
    stopAccepting: () => {},
    /** Injected: send `server.stop` to every registered session, then `registry.empty` once none is left. */
    closeAll: () => {},
  },
  actors: {
    /** Injected: resolves once the game-logic actor has run everything queued. */
    drainGameLogic: fromPromise<void>(async () => {}),
  },
  delays: {
    drainTimeout: ({ context }) => context.drainTimeout,
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({ drainTimeout: input.drainTimeout ?? 5_000 }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        'server.listen': 'starting',
        'server.stop': 'stopped',
      },
    },
    starting: {
      on: {
        'server.listening': 'listening',
        'server.failed': 'idle',
        'server.stop': 'draining',
      },
    },
    listening: {
      on: { 'server.stop': 'draining' },
    },
    draining: {
      entry: 'stopAccepting',
      invoke: { src: 'drainGameLogic', onDone: 'closing', onError: 'closing' },
      after: { drainTimeout: 'closing' },
    },
    closing: {
      entry: 'closeAll',
      on: { 'registry.empty': 'settling' },
    },
    settling: {
      invoke: { src: 'drainGameLogic', onDone: 'stopped', onError: 'stopped' },
      after: { drainTimeout: 'stopped' },
    },
    stopped: { type: 'final' },
  },
})

export type SupervisorMachine = typeof supervisorMachine
