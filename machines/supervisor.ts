import { assign, fromPromise, setup } from 'xstate'

/**
 * The life of one server: listening, then a graceful stop in three steps: let queued game work
 * finish, close every session, let the disconnect handlers finish.
 *
 * The session registry is a plain `Map` owned through the injected `register` / `unregister`
 * actions. Connection actors are not spawned by this chart (XState spawns and stops children in
 * O(n²), which took seconds at 10k sessions): the server creates them as children of a registry
 * actor of its own (src/connectionFactory.ts), which is a child of the supervisor.
 */
export interface SupervisorInput {
  /** Upper bound for each of the two drain steps of a stop. @default 5_000 */
  drainTimeout?: number
}

export interface SupervisorContext {
  sessions: number
  drainTimeout: number
}

/** The supervisor needs only a session's id; the server passes its whole session object. */
export interface SessionRef {
  readonly id: string
}

export type SupervisorEvent =
  | { type: 'server.listen' }
  | { type: 'server.listening' }
  | { type: 'server.failed' }
  | { type: 'server.stop' }
  | { type: 'session.opened'; session: SessionRef }
  | { type: 'session.closed'; session: SessionRef }

export const supervisorMachine = setup({
  types: {
    input: {} as SupervisorInput,
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
  },
  actions: {
    countOpened: assign(({ context }) => ({ sessions: context.sessions + 1 })),
    countClosed: assign(({ context }) => ({ sessions: context.sessions - 1 })),
    /** Injected: add the session's actor to the registry. */
    register: (_, _params: { session: SessionRef }) => {},
    /** Injected: remove the session's actor from the registry. */
    unregister: (_, _params: { session: SessionRef }) => {},
    /** Injected: close the listening socket. */
    stopAccepting: () => {},
    /** Injected: send `server.stop` to every registered session. */
    closeAll: () => {},
  },
  guards: {
    noSessions: ({ context }) => context.sessions === 0,
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
  context: ({ input }) => ({ sessions: 0, drainTimeout: input.drainTimeout ?? 5_000 }),
  initial: 'idle',
  on: {
    'session.opened': {
      actions: ['countOpened', { type: 'register', params: ({ event }) => ({ session: event.session }) }],
    },
    'session.closed': {
      actions: ['countClosed', { type: 'unregister', params: ({ event }) => ({ session: event.session }) }],
    },
  },
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
      always: { guard: 'noSessions', target: 'settling' },
    },
    settling: {
      invoke: { src: 'drainGameLogic', onDone: 'stopped', onError: 'stopped' },
      after: { drainTimeout: 'stopped' },
    },
    stopped: { type: 'final' },
  },
})

export type SupervisorMachine = typeof supervisorMachine
