/**
 * Integration-test harness: real servers on 127.0.0.1 with ephemeral ports, TypeScript clients and
 * raw `node:net` peers, all tracked so `cleanup()` (called from afterEach) tears everything down and
 * checks the one invariant every test shares: each onConnect has exactly one onDisconnect.
 */
import { connect as connectSocket, type Socket } from 'node:net'
import { SimulatedClock } from 'xstate'
import { type Client, type ClientOptions, connect } from '../../src/client.js'
import type { CloseReason, HandlerError, SessionClosedError } from '../../src/errors.js'
import type { ConnectHandler, DisconnectHandler, MessageHandler } from '../../src/gameLoop.js'
import type { ServerOptions } from '../../src/options.js'
import { encodeFrame } from '../../src/protocol/encoder.js'
import type { Message } from '../../src/protocol/message.js'
import { createServer, type Server } from '../../src/server.js'
import type { Session } from '../../src/session.js'
import { waitFor, within } from './wait.js'

export { SimulatedClock }

// ---------------------------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------------------------

/** One encoded frame (src encoder; the protocol tests check it against a hand-built reference). */
export function frame(id: number, data: Uint8Array | string = new Uint8Array(0)): Buffer {
  return encodeFrame(id, typeof data === 'string' ? Buffer.from(data) : data)
}

/** A heartbeat on the wire, written out by hand: size 8, id 0, Adler-32 of four zero bytes. */
export const HEARTBEAT_BYTES: Buffer = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x04, 0x00])

/** A 4-byte little-endian int32, e.g. a size field. */
export function int32(value: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32LE(value | 0, 0)
  return b
}

/** Textbook Adler-32, independent of src, for the raw peer's own decoder. */
export function adler32(bytes: Uint8Array): number {
  let a = 1
  let b = 0
  for (const byte of bytes) {
    a = (a + byte) % 65521
    b = (b + a) % 65521
  }
  return ((b << 16) | a) >>> 0
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0
}

/** Deterministic PRNG (mulberry32), so a failing random test can be replayed from its seed. */
export { prng as rng } from '../../stress/util.js'

// ---------------------------------------------------------------------------------------------
// Tracking and cleanup
// ---------------------------------------------------------------------------------------------

const harnesses = new Set<Harness>()
const clients = new Set<Client>()
const peers = new Set<RawPeer>()

/**
 * Closes every client and raw peer, stops every server, and throws if any session's onConnect was
 * not matched by exactly one onDisconnect. Call from afterEach.
 */
export async function cleanup(): Promise<void> {
  for (const client of clients) client.reset()
  clients.clear()
  for (const peer of peers) peer.socket.destroy()
  peers.clear()
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
}

/**
 * A listening server plus a record of what its handlers saw. The harness owns the server's handlers
 * and records every event before calling the test's own handler (set with `onConnect`, `onMessage`,
 * `onDisconnect`), whose result it returns, so async handlers are still awaited by the game loop.
 */
export class Harness {
  readonly connects: Session[] = []
  readonly disconnects: Disconnect[] = []
  readonly messages: Received[] = []
  readonly errors: { error: HandlerError; session: Session | undefined }[] = []
  port = 0
  private connectHandler: ConnectHandler | null = null
  private messageHandler: MessageHandler | null = null
  private disconnectHandler: DisconnectHandler | null = null

  constructor(
    readonly server: Server,
    readonly clock: SimulatedClock | undefined,
  ) {
    server.onConnect((session) => {
      this.connects.push(session)
      return this.connectHandler?.(session)
    })
    server.onMessage((session, message) => {
      // Copied: the payload may be a view into a socket read.
      this.messages.push({ session, message: { id: message.id, data: Buffer.from(message.data) } })
      return this.messageHandler?.(session, message)
    })
    server.onDisconnect((session, error) => {
      this.disconnects.push({ session, error })
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

  /** Every onConnect has exactly one onDisconnect after it, and every onDisconnect had an onConnect. */
  pairingProblems(): string[] {
    const problems: string[] = []
    const connected = new Map<string, number>()
    for (const session of this.connects) connected.set(session.id, (connected.get(session.id) ?? 0) + 1)
    const disconnected = new Map<string, number>()
    for (const { session } of this.disconnects) disconnected.set(session.id, (disconnected.get(session.id) ?? 0) + 1)
    for (const [id, n] of connected) {
      if (n !== 1) problems.push(`session ${id}: ${n} onConnect calls`)
      const d = disconnected.get(id) ?? 0
      if (d !== 1) problems.push(`session ${id}: ${d} onDisconnect calls`)
    }
    for (const id of disconnected.keys()) {
      if (!connected.has(id)) problems.push(`session ${id}: onDisconnect without onConnect`)
    }
    if (this.server.connectionCount !== 0) problems.push(`connectionCount is ${this.server.connectionCount} after stop`)
    return problems
  }
}

/**
 * Creates and starts a server on 127.0.0.1:0; pass `clock: new SimulatedClock()` to drive its timers.
 */
export async function startServer(options: HarnessOptions = {}): Promise<Harness> {
  const { echo = true, ...serverOptions } = options
  const server = createServer(serverOptions)
  const clock = serverOptions.clock instanceof SimulatedClock ? serverOptions.clock : undefined
  const harness = new Harness(server, clock)
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

/**
 * A raw `node:net` peer: writes arbitrary bytes, decodes what it receives with its own (independent)
 * frame parser, and records how the connection ended.
 */
export class RawPeer {
  /** Every byte received, in order. */
  received: Buffer = Buffer.alloc(0)
  /** Frames parsed from `received`; a frame failing its checksum is recorded with `badChecksum`. */
  readonly frames: (Message & { raw: Buffer; badChecksum: boolean })[] = []
  /** The server sent a FIN. */
  gotEnd = false
  /** The socket is fully closed. */
  closed = false
  /** The socket closed with an error (e.g. ECONNRESET). */
  error: Error | null = null
  private parsed = 0

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk])
      this.parse()
    })
    socket.on('end', () => {
      this.gotEnd = true
    })
    socket.on('error', (error) => {
      this.error = error
    })
    socket.on('close', () => {
      this.closed = true
      peers.delete(this)
    })
  }

  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connectSocket({ host: '127.0.0.1', port, noDelay: true })
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        const peer = new RawPeer(socket)
        peers.add(peer)
        resolve(peer)
      })
    })
  }

  get localPort(): number {
    return this.socket.localPort ?? 0
  }

  /** Writes and resolves once the bytes were handed to the kernel (or rejects if the socket failed). */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (error) => (error ? reject(error) : resolve()))
    })
  }

  /** Writes one byte per write, with an I/O turn between writes so the server reads them apart. */
  async writeBytewise(bytes: Uint8Array): Promise<void> {
    for (let i = 0; i < bytes.length; i++) {
      await this.write(bytes.subarray(i, i + 1))
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }

  /** Frames received that are not heartbeats. */
  get messages(): Message[] {
    return this.frames.filter((f) => f.id !== 0)
  }

  get heartbeats(): number {
    return this.frames.filter((f) => f.id === 0).length
  }

  async waitClosed(timeout = 2_000): Promise<void> {
    await waitFor(() => this.closed, { timeout, message: 'raw socket closed by the server' })
  }

  destroy(): void {
    this.socket.destroy()
  }

  private parse(): void {
    const buf = this.received
    while (buf.length - this.parsed >= 4) {
      const size = buf.readInt32LE(this.parsed)
      if (size < 8 || this.parsed + 4 + size > buf.length) return
      const start = this.parsed
      const end = start + 4 + size
      const id = buf.readInt32LE(start + 4)
      const data = Buffer.from(buf.subarray(start + 8, end - 4))
      const checksum = buf.readUInt32LE(end - 4)
      this.frames.push({
        id,
        data,
        raw: Buffer.from(buf.subarray(start, end)),
        badChecksum: checksum !== adler32(buf.subarray(start + 4, end - 4)),
      })
      this.parsed = end
    }
  }
}
