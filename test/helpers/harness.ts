/**
 * The server side of the integration and reliability tests: real servers on 127.0.0.1 with
 * ephemeral ports and a record of what their handlers saw, TypeScript clients, all tracked so that
 * `cleanup()` (called from afterEach) tears everything down, raw peers included, and checks the one
 * invariant every test shares: each onConnect has exactly one onDisconnect.
 *
 * `startServer({ transport: 'websocket' })` listens on a WebSocket port beside TCP, and the
 * harness's `openPeer()` / `openClient()` then come in over WebSocket: a test written against them
 * runs over either transport (`describe.each(TRANSPORTS)`).
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocket } from 'ws'
import { SimulatedClock } from 'xstate'
import { type Client, type ClientOptions, connect, type ZerostateClient } from '../../src/client.js'
import type { CommonClientOptions } from '../../src/client/clientSettings.js'
import type { CloseReason, SessionClosedError, ZerostateError } from '../../src/errors.js'
import type { ConnectHandler, DisconnectHandler, MessageHandler } from '../../src/gameLoop.js'
import type { ServerOptions } from '../../src/options.js'
import type { Message } from '../../src/protocol/message.js'
import { createServer, type Server } from '../../src/server.js'
import type { Session } from '../../src/session.js'
import { connectWebSocket } from '../../src/webSocketClient.js'
import { SessionLedger } from '../../stress/ledger.js'
import type { Peer, TransportKind } from './peer.js'
import { destroyPeers, RawPeer } from './rawPeer.js'
import { destroyWebSocketPeers, RawWebSocketPeer } from './rawWebSocketPeer.js'
import { destroyUpgradedSockets } from './upgradedSocket.js'
import { waitFor, within } from './wait.js'

export { SimulatedClock }

/** Deterministic PRNG (mulberry32), so a failing random test can be replayed from its seed. */
export { prng as rng } from '../../stress/util.js'

// ---------------------------------------------------------------------------------------------
// Tracking and cleanup
// ---------------------------------------------------------------------------------------------

const harnesses = new Set<Harness>()
const clients = new Set<TestClient>()

/**
 * Closes every client and raw peer, stops every server, and throws if any session's onConnect was
 * not matched by exactly one onDisconnect. Call from afterEach.
 */
export async function cleanup(): Promise<void> {
  for (const client of clients) client.reset()
  clients.clear()
  destroyPeers()
  destroyWebSocketPeers()
  destroyUpgradedSockets()
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
  /** 'websocket': listen on a WebSocket port too, and open peers and clients over it. @default 'tcp' */
  transport?: TransportKind
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
  /** The TCP port (a WebSocket harness listens on TCP too). */
  port = 0
  /** The WebSocket URL, with `transport: 'websocket'`. */
  url: string | null = null
  private connectHandler: ConnectHandler | null = null
  private messageHandler: MessageHandler | null = null
  private disconnectHandler: DisconnectHandler | null = null

  constructor(
    readonly server: Server,
    readonly clock: SimulatedClock | undefined,
    record = true,
    /** Which way `openPeer` and `openClient` come in. */
    readonly transport: TransportKind = 'tcp',
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

  /** A raw peer over the harness's transport. */
  openPeer(): Promise<Peer> {
    return this.transport === 'tcp' ? RawPeer.open(this.port) : RawWebSocketPeer.open(this.webSocketUrl)
  }

  /** A tracked TypeScript client over the harness's transport; its own heartbeats are off unless asked for. */
  openClient(options: CommonClientOptions = {}): Promise<TestClient> {
    return this.transport === 'tcp' ? openClient(this.port, options) : openWebSocketClient(this.webSocketUrl, options)
  }

  get webSocketUrl(): string {
    if (this.url === null) throw new Error('this harness does not listen on WebSocket: startServer({ transport: "websocket" })')
    return this.url
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
  const { echo = true, record = true, transport = 'tcp', ...serverOptions } = options
  const server = createServer(serverOptions)
  const clock = serverOptions.clock instanceof SimulatedClock ? serverOptions.clock : undefined
  const harness = new Harness(server, clock, record, transport)
  if (echo) harness.echo()
  else harness.record()
  harnesses.add(harness)
  const address = await server.listen({ host: '127.0.0.1', port: 0, webSocket: transport === 'websocket' ? { port: 0 } : false })
  harness.port = address.port
  harness.url = address.webSocket?.url ?? null
  return harness
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/**
 * A TypeScript client of either transport, with what the tests need beside the common API: its
 * local port (to find its session) and an abrupt close.
 */
export interface TestClient extends ZerostateClient {
  readonly localPort: number
  /** An RST: the TCP client's own reset(), or the WebSocket client's socket cut with no close frame. */
  reset(): void
}

/** A tracked TypeScript client; its own heartbeats are off unless asked for. */
export async function openClient(port: number, options: Partial<ClientOptions> = {}): Promise<Client> {
  const client = await connect({ host: '127.0.0.1', heartbeatInterval: 0, ...options, port })
  track(client)
  return client
}

/** A tracked WebSocket client (src/webSocketClient.ts on `ws`); its own heartbeats are off unless asked for. */
export async function openWebSocketClient(url: string, options: CommonClientOptions = {}): Promise<TestClient> {
  let socket: Socket | null = null
  /** ws's WebSocket, remembering the TCP socket under it. */
  class SocketRevealingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols)
      this.once('upgrade', (response: IncomingMessage) => (socket = response.socket as Socket))
    }
  }
  const client = await connectWebSocket({ heartbeatInterval: 0, ...options, url, WebSocket: SocketRevealingWebSocket })
  const under = socket as Socket | null
  if (under === null) throw new Error('the WebSocket opened without an upgrade response')
  const localPort = under.localPort ?? 0
  const tracked: TestClient = Object.assign(client, { localPort, reset: () => under.resetAndDestroy() })
  track(tracked)
  return tracked
}

function track(client: TestClient): void {
  clients.add(client)
  void client.closed.then(() => clients.delete(client))
}

/** Sends one frame and waits for the next message (the echo). */
export async function roundTrip(client: ZerostateClient, message: Message): Promise<Message> {
  expectTrue(client.send(message), 'client.send returned false')
  return within(client.receive(), 2_000, `echo of id ${message.id}`)
}

function expectTrue(value: boolean, message: string): void {
  if (!value) throw new Error(message)
}
