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
  /**
   * Whether a live session that loses its peer waits in `detached` for the client to resume it
   * (the server's `resume` option). @default false
   */
  resume?: boolean
}

export interface ConnectionContext {
  sessionId: string
  handshake: boolean
  verify: boolean
  resume: boolean
  /** How the peer was lost, on the way into `detached`; the close reason if the grace runs out. */
  loss: LossReason | null
  /** Set exactly once, on the way into `closed`. */
  reason: CloseReason | null
}

/** The ways of losing a peer that a session with `resume` survives, in `detached`. */
export type LossReason = 'client-closed' | 'reset' | 'heartbeat-timeout'

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
  /** The client said it is leaving for good (a GOODBYE frame): no waiting in `detached`. */
  | { type: 'peer.goodbye' }
  /** A new connection presented this session's resume token, and now carries it. */
  | { type: 'session.resumed' }
  /** The sweep saw `detached` outlast the grace. */
  | { type: 'resume.expired' }
  /** The client missed more frames than the replay buffer holds: it cannot resume without a gap. */
  | { type: 'replay.unavailable' }
  /** This connection presented a resume token that opens no session (wrong, used or expired). */
  | { type: 'resume.refused' }
  /** This connection presented a valid resume token: it now carries that session, not one of its own. */
  | { type: 'resume.handedOver' }

export interface VerifyInput {
  sessionId: string
  frame: Message
}

const closeWith = (reason: CloseReason) => ({ target: '#connection.closed', actions: { type: 'setReason', params: { reason } } }) as const

/** What only a connection with a transport hears: `detached` has none. */
const TRANSPORT_EVENTS = {
  'socket.closed': { target: '#connection.closed', actions: 'setReasonFromEvent' },
  'frame.invalid': { target: '#connection.closed', actions: 'setReasonFromEvent' },
  'rate.exceeded': closeWith('rate-limited'),
} as const

/**
 * How a live state with a peer meets its loss: with `resume`, a peer that went away or went silent
 * leaves the session `detached`; otherwise it closes. A resume while the old connection still looks
 * alive takes the session over there and then.
 */
const LIVE_LOSSES = {
  'heartbeat.timeout': [
    { guard: 'resumable', target: '#connection.detached', actions: { type: 'setLoss', params: { loss: 'heartbeat-timeout' } } },
    closeWith('heartbeat-timeout'),
  ],
  'socket.closed': [
    { guard: 'peerLost', target: '#connection.detached', actions: 'setLossFromEvent' },
    { target: '#connection.closed', actions: 'setReasonFromEvent' },
  ],
  'session.resumed': '#connection.active',
  'replay.unavailable': closeWith('replay-unavailable'),
  'peer.goodbye': closeWith('client-closed'),
} as const

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
    setLoss: assign((_, params: { loss: LossReason }) => ({ loss: params.loss })),
    setLossFromEvent: assign(({ event }) => {
      if (event.type === 'socket.closed' && (event.reason === 'client-closed' || event.reason === 'reset')) return { loss: event.reason }
      return {}
    }),
    setReasonFromLoss: assign(({ context }) => ({ reason: context.loss })),
    /** Injected: the session may now take part in the game (held frames are delivered). */
    activate: () => {},
    /** Injected: write a heartbeat to a silent peer. */
    probe: () => {},
    /** Injected: close the socket, leave the registry, tell the game logic. */
    release: () => {},
    /** Injected: the peer is gone; keep the session, its seats and what is sent to it, and tell the rooms. */
    detach: () => {},
    /** Injected: the session carries on over the new connection; tell the rooms. */
    reattach: () => {},
    /** Injected: leave the registry quietly; this connection's transport now belongs to another session. */
    handOver: () => {},
  },
  guards: {
    handshakeOff: ({ context }) => !context.handshake,
    verifyConfigured: ({ context }) => context.verify,
    resumable: ({ context }) => context.resume,
    peerLost: ({ context, event }) => context.resume && event.type === 'socket.closed' && (event.reason === 'client-closed' || event.reason === 'reset'),
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
    resume: input.resume ?? false,
    loss: null,
    reason: null,
  }),
  initial: 'handshake',
  on: {
    'outbound.overflow': closeWith('slow-consumer'),
    'session.kick': closeWith('kicked'),
    'server.stop': closeWith('server-stopping'),
  },
  states: {
    handshake: {
      tags: ['handshake'],
      initial: 'awaitingFrame',
      // With the handshake off a session is active on accept, as zero's are.
      always: { guard: 'handshakeOff', target: 'active', actions: 'activate' },
      on: {
        ...TRANSPORT_EVENTS,
        'handshake.timeout': closeWith('handshake-timeout'),
        'resume.refused': closeWith('resume-refused'),
        'resume.handedOver': 'handedOver',
      },
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
        ...TRANSPORT_EVENTS,
        'heartbeat.missed': 'heartbeatMissed',
        ...LIVE_LOSSES,
      },
    },
    heartbeatMissed: {
      tags: ['live', 'awaitingFrame'],
      entry: 'probe',
      on: {
        ...TRANSPORT_EVENTS,
        'frame.received': 'active',
        ...LIVE_LOSSES,
      },
    },
    /**
     * The peer is gone but the session is kept for the grace: its id, user, store and seats, and
     * every frame sent to it, to be replayed when the client resumes.
     */
    detached: {
      tags: ['live', 'detached'],
      entry: 'detach',
      on: {
        'session.resumed': { target: 'active', actions: 'reattach' },
        'resume.expired': { target: 'closed', actions: 'setReasonFromLoss' },
        'replay.unavailable': closeWith('replay-unavailable'),
      },
    },
    closed: {
      tags: ['closed'],
      type: 'final',
      entry: 'release',
    },
    /** The connection resumed another session, which carries on over its transport. */
    handedOver: {
      tags: ['closed'],
      type: 'final',
      entry: 'handOver',
    },
  },
})

export type ConnectionMachine = typeof connectionMachine
/** The state names a session can report, `handshake.verifying` flattened to `handshake`. */
export type ConnectionState = 'handshake' | 'active' | 'heartbeatMissed' | 'detached' | 'closed' | 'handedOver'

/**
 * What the server asks of a connection's state, so that a new state needs a tag rather than an
 * edit wherever states are compared:
 * - `handshake`: not yet admitted; the handshake deadline applies.
 * - `live`: takes part in the game and in broadcasts; the heartbeat deadlines apply unless `detached`.
 * - `detached`: the peer is gone and the session waits for it to resume; the grace deadline applies.
 * - `awaitingFrame`: the machine wants to hear of the next valid frame (`frame.received`).
 * - `closed`: the end.
 */
export type ConnectionTag = 'handshake' | 'live' | 'detached' | 'awaitingFrame' | 'closed'
