/**
 * The server side of the integration and reliability tests: real servers on 127.0.0.1 with
 * ephemeral ports and a record of what their handlers saw, TypeScript clients, all tracked so that
 * `cleanup()` (called from afterEach) tears everything down, raw peers included, and checks the one
 * invariant every test shares: each onConnect has exactly one onDisconnect.
 */
import { SimulatedClock } from 'xstate'
import { type Client, type ClientOptions, connect } from '../../src/client.js'
import type { CloseReason, SessionClosedError, ZerostateError } from '../../src/errors.js'
import type { ConnectHandler, DisconnectHandler, MessageHandler } from '../../src/gameLoop.js'
import type { ServerOptions } from '../../src/options.js'
import type { Message } from '../../src/protocol/message.js'
import { createServer, type Server } from '../../src/server.js'
import type { Session } from '../../src/session.js'
import { SessionLedger } from '../../stress/ledger.js'
import { destroyPeers } from './rawPeer.js'
import { waitFor, within } from './wait.js'

export { SimulatedClock }

/** Deterministic PRNG (mulberry32), so a failing random test can be replayed from its seed. */
export { prng as rng } from '../../stress/util.js'

// ---------------------------------------------------------------------------------------------
// Tracking and cleanup
// ---------------------------------------------------------------------------------------------

const harnesses = new Set<Harness>()
const clients = new Set<Client>()

/**
 * Closes every client and raw peer, stops every server, and throws if any session's onConnect was
 * not matched by exactly one onDisconnect. Call from afterEach.
 */
export async function cleanup(): Promise<void> {
  for (const client of clients) client.reset()
  clients.clear()
  destroyPeers()
  const problems: string[] = []
  for (const harness of harnesses) {
    try {
      await within(harness.server.stop(), 10_000, 'server.stop() in cleanup')
    } catch (error) {
      problems.push(String(error))
      continue
    }
    problems.push(...harness.pairingProblems())
  }
  harnesses.clear()
  if (problems.length > 0) throw new Error(`cleanup found problems:\n${problems.slice(0, 20).join('\n')}`)
}

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

export interface Disconnect {
  session: Session
  error: SessionClosedError
}

export interface Received {
  session: Session
  message: Message
}

export interface HarnessOptions extends ServerOptions {
  /** Echo every message back to its sender (messages are recorded either way). @default true */
  echo?: boolean
  /**
   * Record connects, messages and disconnects (and pair them in the ledger). Off for a test that
   * must hold no session, e.g. one that checks sessions are garbage-collected. @default true
   */
  record?: boolean
}

/**
 * A listening server plus a record of what its handlers saw. The harness owns the server's handlers
 * and records every event before calling the test's own handler (set with `onConnect`, `onMessage`,
 * `onDisconnect`), whose result it returns, so async handlers are still awaited by the game loop.
 * Connects and disconnects also go to a {@link SessionLedger}, the load runners' bookkeeping: it
 * pairs them and finds a client's close reason by its local port. A test that must hold no session
 * (a memory test) sets the server's handlers itself, and the harness then records nothing.
 */
export class Harness {
  readonly connects: Session[] = []
  readonly disconnects: Disconnect[] = []
  readonly messages: Received[] = []
  readonly errors: { error: ZerostateError; session: Session | undefined }[] = []
  readonly ledger = new SessionLedger()
  port = 0
  private connectHandler: ConnectHandler | null = null
  private messageHandler: MessageHandler | null = null
  private disconnectHandler: DisconnectHandler | null = null

  constructor(
    readonly server: Server,
    readonly clock: SimulatedClock | undefined,
    record = true,
  ) {
    server.onConnect((session) => {
      if (record) {
        this.connects.push(session)
        this.ledger.connected(session)
      }
      return this.connectHandler?.(session)
    })
    server.onMessage((session, message) => {
      // Copied: the payload may be a view into a socket read.
      if (record) this.messages.push({ session, message: { id: message.id, data: Buffer.from(message.data) } })
      return this.messageHandler?.(session, message)
    })
    server.onDisconnect((session, error) => {
      if (record) {
        this.disconnects.push({ session, error })
        this.ledger.disconnected(session, error)
      }
      return this.disconnectHandler?.(session, error)
    })
    server.onError((error, session) => {
      this.errors.push({ error, session })
    })
  }

  /** Runs after the harness recorded the connect. */
  onConnect(handler: ConnectHandler | null): void {
    this.connectHandler = handler
  }

  /** Runs after the harness recorded the message; replaces echo. */
  onMessage(handler: MessageHandler | null): void {
    this.messageHandler = handler
  }

  /** Runs after the harness recorded the disconnect. */
  onDisconnect(handler: DisconnectHandler | null): void {
    this.disconnectHandler = handler
  }

  /** Echoes every message back to its sender (the default). */
  echo(): void {
    this.onMessage((session, message) => {
      session.send({ id: message.id, data: Buffer.from(message.data) })
    })
  }

  /** Only records messages. */
  record(): void {
    this.onMessage(null)
  }

  /** The close reason onDisconnect reported for the session with that id, if any. */
  reasonOf(sessionId: string): CloseReason | undefined {
    return this.disconnects.find((d) => d.session.id === sessionId)?.error.code
  }

  /** The session whose peer is on that local port of the test process (its remoteAddress port). */
  sessionOnPort(port: number): Session | undefined {
    return this.connects.find((s) => s.remoteAddress.endsWith(`:${port}`))
  }

  /** Waits until a session for that client port was connected, and returns it. */
  async sessionFor(port: number): Promise<Session> {
    await waitFor(() => this.sessionOnPort(port) !== undefined, { message: `onConnect for port ${port}` })
    return this.sessionOnPort(port)!
  }

  /** Waits for the session's onDisconnect and returns its error. */
  async disconnectOf(session: Session): Promise<SessionClosedError> {
    await waitFor(() => this.disconnects.some((d) => d.session.id === session.id), {
      message: `onDisconnect of ${session.id}`,
    })
    return this.disconnects.find((d) => d.session.id === session.id)!.error
  }

  messagesFrom(session: Session): Message[] {
    return this.messages.filter((m) => m.session.id === session.id).map((m) => m.message)
  }

  /**
   * Every onConnect has exactly one onDisconnect after it, every onDisconnect had an onConnect and
   * found its session closed (the ledger's pairing), and the server holds no connection after stop.
   */
  pairingProblems(): string[] {
    const problems = this.ledger.pairingProblems()
    if (this.server.connectionCount !== 0) problems.push(`connectionCount is ${this.server.connectionCount} after stop`)
    return problems
  }
}

/**
 * Creates and starts a server on 127.0.0.1:0; pass `clock: new SimulatedClock()` to drive its timers.
 */
export async function startServer(options: HarnessOptions = {}): Promise<Harness> {
  const { echo = true, record = true, ...serverOptions } = options
  const server = createServer(serverOptions)
  const clock = serverOptions.clock instanceof SimulatedClock ? serverOptions.clock : undefined
  const harness = new Harness(server, clock, record)
  if (echo) harness.echo()
  else harness.record()
  harnesses.add(harness)
  const address = await server.listen({ host: '127.0.0.1', port: 0 })
  harness.port = address.port
  return harness
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/** A tracked TypeScript client; its own heartbeats are off unless asked for. */
export async function openClient(port: number, options: Partial<ClientOptions> = {}): Promise<Client> {
  const client = await connect({ host: '127.0.0.1', heartbeatInterval: 0, ...options, port })
  clients.add(client)
  void client.closed.then(() => clients.delete(client))
  return client
}

/** Sends one frame and waits for the next message (the echo). */
export async function roundTrip(client: Client, message: Message): Promise<Message> {
  expectTrue(client.send(message), 'client.send returned false')
  return within(client.receive(), 2_000, `echo of id ${message.id}`)
}

function expectTrue(value: boolean, message: string): void {
  if (!value) throw new Error(message)
}
