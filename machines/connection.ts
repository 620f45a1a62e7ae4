import { assign, fromPromise, setup } from 'xstate'
import type { CloseReason, ProtocolErrorCode, TransportCloseReason } from './closeReason.js'
import type { Message } from './message.js'

/**
 * The life of one connection. The socket and the user's `verify` hook are injected (`provide`),
 * and every deadline arrives as an event, so the chart runs and is path-tested without a network
 * or a clock.
 *
 * Only lifecycle events reach this actor. Game messages bypass it and go straight to the game-logic
 * actor: an actor hop costs microseconds, and a message must pay for one hop only.
 *
 * The handshake deadline, like the heartbeat ones, comes from the server's coarse sweep rather than
 * an `after` delay: XState schedules a delay under a fresh random key in a per-actor object and
 * deletes it again, which cost about 20 µs and 400 B of every connection (a third of creating one).
 */
export interface ConnectionInput {
  sessionId: string
  /** false: active on accept, as zero does. @default true */
  handshake?: boolean
  /** Whether a `verify` hook decides the handshake; without one the first valid frame is enough. */
  verify?: boolean
}

export interface ConnectionContext {
  sessionId: string
  handshake: boolean
  verify: boolean
  /** Set exactly once, on the way into `closed`. */
  reason: CloseReason | null
}

export type ConnectionEvent =
  /** A valid frame arrived while the connection is in `handshake` or `heartbeatMissed`. */
  | { type: 'frame.received'; frame: Message }
  | { type: 'frame.invalid'; reason: ProtocolErrorCode }
  /** The sweep saw no valid first frame (or no verdict) within `handshakeTimeout`. */
  | { type: 'handshake.timeout' }
  /** The heartbeat sweep saw no inbound frame for one interval. */
  | { type: 'heartbeat.missed' }
  /** The heartbeat sweep saw no inbound frame for the timeout. */
  | { type: 'heartbeat.timeout' }
  /** The peer went away, or broke the transport's own protocol. */
  | { type: 'socket.closed'; reason: TransportCloseReason }
  | { type: 'outbound.overflow' }
  /** The peer sent faster than `maxMessagesPerSecond`. */
  | { type: 'rate.exceeded' }
  | { type: 'session.kick' }
  | { type: 'server.stop' }

export interface VerifyInput {
  sessionId: string
  frame: Message
}

const closeWith = (reason: CloseReason) => ({ target: '#connection.closed', actions: { type: 'setReason', params: { reason } } }) as const

export const connectionMachine = setup({
  types: {
    tags: {} as ConnectionTag,
    input: {} as ConnectionInput,
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
  },
  actions: {
    setReason: assign((_, params: { reason: CloseReason }) => ({ reason: params.reason })),
    setReasonFromEvent: assign(({ event }) => {
      if (event.type === 'socket.closed' || event.type === 'frame.invalid') return { reason: event.reason }
      return {}
    }),
    /** Injected: the session may now take part in the game (held frames are delivered). */
    activate: () => {},
    /** Injected: write a heartbeat to a silent peer. */
    probe: () => {},
    /** Injected: close the socket, leave the registry, tell the game logic. */
    release: () => {},
  },
  guards: {
    handshakeOff: ({ context }) => !context.handshake,
    verifyConfigured: ({ context }) => context.verify,
    accepted: (_, params: { output: unknown }) => params.output === true,
  },
  actors: {
    /** Injected: the user's `verify(session, firstMessage)`; resolves true to accept. */
    verify: fromPromise<boolean, VerifyInput>(async () => true),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    sessionId: input.sessionId,
    handshake: input.handshake ?? true,
    verify: input.verify ?? false,
    reason: null,
  }),
  initial: 'handshake',
  on: {
    'socket.closed': { target: '#connection.closed', actions: 'setReasonFromEvent' },
    'frame.invalid': { target: '#connection.closed', actions: 'setReasonFromEvent' },
    'outbound.overflow': closeWith('slow-consumer'),
    'rate.exceeded': closeWith('rate-limited'),
    'session.kick': closeWith('kicked'),
    'server.stop': closeWith('server-stopping'),
  },
  states: {
    handshake: {
      tags: ['handshake'],
      initial: 'awaitingFrame',
      // With the handshake off a session is active on accept, as zero's are.
      always: { guard: 'handshakeOff', target: 'active', actions: 'activate' },
      on: { 'handshake.timeout': closeWith('handshake-timeout') },
      states: {
        awaitingFrame: {
          tags: ['awaitingFrame'],
          on: {
            'frame.received': [
              { guard: 'verifyConfigured', target: 'verifying' },
              { target: '#connection.active', actions: 'activate' },
            ],
          },
        },
        verifying: {
          invoke: {
            src: 'verify',
            input: ({ context, event }) => ({
              sessionId: context.sessionId,
              frame: (event as Extract<ConnectionEvent, { type: 'frame.received' }>).frame,
            }),
            onDone: [
              {
                guard: { type: 'accepted', params: ({ event }) => ({ output: event.output }) },
                target: '#connection.active',
                actions: 'activate',
              },
              closeWith('handshake-rejected'),
            ],
            onError: closeWith('handshake-rejected'),
          },
        },
      },
    },
    active: {
      tags: ['live'],
      on: {
        'heartbeat.missed': 'heartbeatMissed',
        'heartbeat.timeout': closeWith('heartbeat-timeout'),
      },
    },
    heartbeatMissed: {
      tags: ['live', 'awaitingFrame'],
      entry: 'probe',
      on: {
        'frame.received': 'active',
        'heartbeat.timeout': closeWith('heartbeat-timeout'),
      },
    },
    closed: {
      tags: ['closed'],
      type: 'final',
      entry: 'release',
    },
  },
})

export type ConnectionMachine = typeof connectionMachine
/** The state names a session can report, `handshake.verifying` flattened to `handshake`. */
export type ConnectionState = 'handshake' | 'active' | 'heartbeatMissed' | 'closed'

/**
 * What the server asks of a connection's state, so that a new state needs a tag rather than an
 * edit wherever states are compared:
 * - `handshake`: not yet admitted; the handshake deadline applies.
 * - `live`: takes part in the game and in broadcasts; the heartbeat deadlines apply.
 * - `awaitingFrame`: the machine wants to hear of the next valid frame (`frame.received`).
 * - `closed`: the end.
 */
export type ConnectionTag = 'handshake' | 'live' | 'awaitingFrame' | 'closed'
