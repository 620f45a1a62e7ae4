import { type Actor, createActor, type Observer, type Snapshot, type SnapshotFrom } from 'xstate'
import type { ConnectionContext, ConnectionInput, ConnectionMachine } from '../machines/connection.js'
import type { Inspect } from './options.js'

/** A connection's initial snapshot, persisted: the state value, the context, and XState's bookkeeping. */
type PersistedStart = Extract<Snapshot<unknown>, { status: 'active' }> & { context: ConnectionContext }

/** What a server's connections have in common. */
export type ConnectionSettings = Omit<ConnectionInput, 'sessionId'>

/**
 * Creates the connection actors of one server.
 *
 * With the handshake on, every connection starts in the same state, `handshake.awaitingFrame`,
 * and entering it runs no action and invokes nothing (test/connectionFactory.test.ts holds the
 * chart to that). So the machine's initial snapshot is computed once per server, and each actor is
 * restored from it with its own session id, through XState's persistence API: computing it per
 * actor allocates about three times the short-lived garbage, and collecting garbage is most of
 * what a connection costs. With the handshake off the start runs `activate`, so each actor starts
 * fresh.
 */
export class ConnectionFactory {
  /** The persisted initial snapshot, or null with the handshake off. */
  private readonly start: PersistedStart | null

  constructor(
    private readonly logic: ConnectionMachine,
    private readonly settings: ConnectionSettings,
    private readonly inspect: Inspect | undefined,
  ) {
    if (settings.handshake === false) {
      this.start = null
    } else {
      const initial = createActor(logic, { input: { sessionId: '', ...settings } }).getSnapshot()
      const persisted = logic.getPersistedSnapshot(initial)
      if (persisted.status !== 'active') throw new Error(`a connection cannot start: its machine is ${persisted.status}`)
      this.start = { ...persisted, context: initial.context }
    }
  }

  /** An actor not started yet, for the session with this id, reporting errors to `errors`. */
  create(sessionId: string, errors: Partial<Observer<SnapshotFrom<ConnectionMachine>>>): Actor<ConnectionMachine> {
    const { start, inspect } = this
    const id = `session:${sessionId}`
    let actor: Actor<ConnectionMachine>
    if (start === null) {
      actor = createActor(this.logic, { input: { sessionId, ...this.settings }, inspect, id })
    } else {
      // An actor keeps its options for life: its input is its context, one object rather than two.
      const context = { ...start.context, sessionId }
      const snapshot: PersistedStart = { ...start, context }
      actor = createActor(this.logic, { input: context, snapshot, inspect, id })
    }
    // A root actor whose action throws would take the process down without an error observer.
    actor.subscribe(errors)
    return actor
  }
}
