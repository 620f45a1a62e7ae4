/**
 * Shared setup of the reliability tests: real servers on 127.0.0.1:0 with a ledger of their
 * sessions, clients and raw sockets that are all torn down by `teardown()` (call from afterEach).
 */
import { connect as netConnect, type Socket } from 'node:net'
import { type Client, connect, createServer, type Server, type ServerOptions, type ZerostateError } from '../../src/index.js'
import { SessionLedger } from '../../stress/ledger.js'
import { orAfter } from '../../stress/util.js'

export interface TestServer {
  server: Server
  port: number
  ledger: SessionLedger
  errors: { error: ZerostateError; sessionId: string | undefined }[]
}

const servers = new Set<Server>()
const clients = new Set<Client>()
const sockets = new Set<Socket>()

/** A listening server whose connects and disconnects go to a ledger and whose errors are recorded; echo by default. */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const server = createServer(options)
  servers.add(server)
  const ledger = new SessionLedger()
  const errors: TestServer['errors'] = []
  server.onConnect(ledger.connected)
  server.onDisconnect(ledger.disconnected)
  server.onMessage((session, message) => {
    session.send(message)
  })
  server.onError((error, session) => {
    errors.push({ error, sessionId: session?.id })
  })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
  return { server, port, ledger, errors }
}

/** A tracked TypeScript client with its own heartbeats off. */
export async function openClient(port: number): Promise<Client> {
  const client = await connect({ host: '127.0.0.1', port, heartbeatInterval: 0 })
  clients.add(client)
  void client.closed.then(() => clients.delete(client))
  return client
}

/** A tracked raw socket, connected. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, noDelay: true })
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      socket.on('error', () => {})
      resolve(socket)
    })
  })
}

export async function teardown(): Promise<void> {
  for (const client of clients) client.reset()
  clients.clear()
  for (const socket of sockets) socket.destroy()
  sockets.clear()
  for (const server of servers) await orAfter(server.stop(), 10_000, null)
  servers.clear()
}
