import { type Actor, type AnyActorRef, createActor, type EventObject, fromTransition, type Observer, type SnapshotFrom } from 'xstate'
import type { ConnectionInput, ConnectionMachine } from '../machines/connection.js'

/** A connection's initial snapshot: the state value, the context, and XState's bookkeeping. */
type Start = SnapshotFrom<ConnectionMachine>

/** What a server's connections have in common. */
export type ConnectionSettings = Omit<ConnectionInput, 'sessionId'>

/**
 * The parent of a server's connection actors, a child of its supervisor (`registry` in the
 * inspector): its snapshot is the number of connections alive, counted up by the server on accept
 * (`connection.opened`, which carries the session) and down as each connection actor ends (XState
 * tells a parent of its children's ends). Being its children puts the connections in the
 * supervisor's actor system rather than one system each, which cost about 1.8 KB of every session;
 * and its logic is a counter, so a connection costs it an addition, not a statechart transition.
 */
export const connectionRegistry = fromTransition(
  (alive: number, event: EventObject) =>
    event.type === 'connection.opened' ? alive + 1 : event.type.startsWith('xstate.done.actor.') || event.type.startsWith('xstate.error.actor.') ? alive - 1 : alive,
  0,
)

/**
 * Creates the connection actors of one server, as children of its registry actor.
 *
 * With the handshake on, every connection starts in the same state, `handshake.awaitingFrame`,
 * and entering it runs no action and invokes nothing (test/connectionFactory.test.ts holds the
 * chart to that). So the machine's initial snapshot is computed once per server, and each actor
 * starts from a copy of it with its own session id and children: computing it per actor allocates
 * about three times the short-lived garbage, and collecting garbage is most of what a connection
 * costs. The copy is handed to the actor as it is, through a logic whose `restoreSnapshot` passes
 * it on (XState's own rebuilds every field of a persisted snapshot from the chart, about 30 µs of
 * each connection). With the handshake off the start runs `activate`, so each actor starts fresh.
 */
export class ConnectionFactory {
  /** The initial snapshot, or null with the handshake off. */
  private readonly start: Start | null
  /** The machine, but for a `restoreSnapshot` that takes a copy of `start` as it is. */
  private readonly restoring: ConnectionMachine

  constructor(
    private readonly logic: ConnectionMachine,
    private readonly settings: ConnectionSettings,
    /** The registry actor: the connections' parent, whose system (and inspector) they share. */
    private readonly parent: AnyActorRef,
  ) {
    this.restoring = Object.create(logic, { restoreSnapshot: { value: (snapshot: Start) => snapshot } }) as ConnectionMachine
    if (settings.handshake === false) {
      this.start = null
    } else {
      const initial = createActor(logic, { input: { sessionId: '', ...settings } }).getSnapshot()
      if (initial.status !== 'active' || Object.keys(initial.children).length > 0) throw new Error(`a connection cannot start from a shared snapshot: its machine is ${initial.status}`)
      this.start = initial
    }
  }

  /** An actor not started yet, for the session with this id, reporting errors to `errors`. */
  create(sessionId: string, errors: Partial<Observer<SnapshotFrom<ConnectionMachine>>>): Actor<ConnectionMachine> {
    const { start, parent } = this
    const id = `session:${sessionId}`
    let actor: Actor<ConnectionMachine>
    if (start === null) {
      actor = createActor(this.logic, { input: { sessionId, ...this.settings }, parent, id })
    } else {
      // An actor keeps its options for life: its input is its context, one object rather than two.
      // The state nodes, value and tags are shared: XState never changes a snapshot, it makes new ones.
      const context = { ...start.context, sessionId }
      const snapshot: Start = { ...start, context, children: {} }
      actor = createActor(this.restoring, { input: context, snapshot, parent, id })
    }
    // A failing actor closes its own session (the observer), and only that one.
    actor.subscribe(errors)
    return actor
  }
}
