/**
 * WebSocket sessions: the same frames in binary messages, the same session model, close reasons
 * as close codes, and the upgrade's own guards (path, origin, a slow upgrade).
 */
import { connect as connectSocket, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { SimulatedClock } from 'xstate'
import { connect } from '../src/client.js'
import type { CloseReason } from '../src/errors.js'
import { type Address, createServer, type ListenOptions, type Server, type ServerOptions, type Session } from '../src/index.js'
import { WEBSOCKET_CLOSE_CODES } from '../src/transport/closeCodes.js'
import { badFrame, frame } from './helpers/frames.js'
import { waitFor } from './helpers/wait.js'

const servers = new Set<Server>()
const sockets = new Set<WebSocket | Socket>()

afterEach(async () => {
  for (const socket of sockets) socket instanceof WebSocket ? socket.terminate() : socket.destroy()
  sockets.clear()
  await Promise.all([...servers].map((server) => server.stop()))
  servers.clear()
})

interface Running {
  server: Server
  address: Address
  url: string
  sessions: Session[]
  closed: Map<string, CloseReason>
}

/** An echo server listening on WebSocket (and TCP unless `port: false`), recording sessions and closes. */
async function start(options: ServerOptions = {}, listen: ListenOptions = {}): Promise<Running> {
  const server = createServer(options)
  servers.add(server)
  const sessions: Session[] = []
  const closed = new Map<string, CloseReason>()
  server.onConnect((session) => void sessions.push(session))
  server.onMessage((session, message) => void session.send({ id: message.id, data: Buffer.from(message.data) }))
  server.onDisconnect((session, error) => void closed.set(session.id, error.code))
  const address = (await server.listen({ host: '127.0.0.1', port: 0, webSocket: { port: 0 }, ...listen } as ListenOptions & { port?: number })) as Address
  return { server, address, url: address.webSocket!.url, sessions, closed }
}

interface Peer {
  ws: WebSocket
  /** Every binary message received, as bytes. */
  messages: Buffer[]
  closedWith: Promise<{ code: number; reason: string }>
}

function open(url: string, headers: Record<string, string> = {}): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    sockets.add(ws)
    const messages: Buffer[] = []
    const closedWith = new Promise<{ code: number; reason: string }>((done) => ws.once('close', (code, reason) => done({ code, reason: reason.toString() })))
    ws.on('message', (data) => messages.push(data as Buffer))
    ws.once('open', () => resolve({ ws, messages, closedWith }))
    ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)))
    ws.once('error', reject)
  })
}

/** The frames in a received message: [id, text]. */
function framesOf(message: Buffer): [number, string][] {
  const out: [number, string][] = []
  for (let at = 0; at < message.length; ) {
    const size = message.readInt32LE(at)
    out.push([message.readInt32LE(at + 4), message.subarray(at + 8, at + 4 + size - 4).toString()])
    at += 4 + size
  }
  return out
}

/** A raw HTTP exchange on the WebSocket port: what the server answers to `request`. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectSocket({ host: '127.0.0.1', port })
    sockets.add(socket)
    let answer = ''
    socket.setEncoding('utf8').on('data', (text: string) => (answer += text))
    socket.once('close', () => resolve(answer))
    socket.once('error', reject)
    socket.write(request)
  })
}

const UPGRADE = (path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`

describe('sessions over WebSocket', () => {
  it('carries zero frames in binary messages both ways; the session says websocket and keeps the request', async () => {
    const run = await start()
    const peer = await open(`${run.url}?token=abc`)
    peer.ws.send(Buffer.concat([frame(1, 'hello'), frame(2, 'world')]))
    await waitFor(() => peer.messages.flatMap(framesOf).length === 2)
    // Both echoes were queued in one tick: one message.
    expect(peer.messages.map(framesOf)).toEqual([
      [
        [1, 'hello'],
        [2, 'world'],
      ],
    ])
    const session = run.sessions[0]!
    expect(session.transport).toBe('websocket')
    expect(session.request?.url).toBe('/?token=abc')
    expect(session.state).toBe('active')
    expect(session.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  it('decodes frames split across messages at any byte', async () => {
    const run = await start()
    const peer = await open(run.url)
    const bytes = Buffer.concat([frame(1, 'split'), frame(2, 'me')])
    for (let i = 0; i < bytes.length; i += 3) peer.ws.send(bytes.subarray(i, i + 3))
    await waitFor(() => peer.messages.flatMap(framesOf).length === 2)
    expect(peer.messages.flatMap(framesOf)).toEqual([
      [1, 'split'],
      [2, 'me'],
    ])
  })

  it('a TCP client and a WebSocket client in one game see each other’s broadcasts', async () => {
    const server = createServer()
    servers.add(server)
    server.onMessage((_session, message) => void server.broadcast({ id: message.id, data: Buffer.from(message.data) }))
    const address = await server.listen({ host: '127.0.0.1', port: 0, webSocket: { port: 0 } })
    const tcp = await connect({ port: address.port, heartbeatInterval: 0 })
    const peer = await open(address.webSocket!.url)
    // Broadcasts reach sessions past their handshake: the browser joins first.
    peer.ws.send(frame(1, 'browser joins'))
    await waitFor(() => peer.messages.length === 1)
    tcp.send({ id: 2, data: Buffer.from('from tcp') })
    await waitFor(() => peer.messages.length === 2)
    peer.ws.send(frame(3, 'from browser'))
    const [first, second] = [await tcp.receive(), await tcp.receive()]
    expect([first.id, Buffer.from(first.data).toString()]).toEqual([2, 'from tcp'])
    expect([second.id, Buffer.from(second.data).toString()]).toEqual([3, 'from browser'])
    expect(peer.messages.flatMap(framesOf)).toEqual([
      [1, 'browser joins'],
      [2, 'from tcp'],
    ])
    await tcp.close()
  })

  it('listens on WebSocket alone with port: false', async () => {
    const server = createServer()
    servers.add(server)
    const address = await server.listen({ port: false, webSocket: { host: '127.0.0.1', port: 0 } })
    expect(address.port).toBeNull()
    expect(address.webSocket.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/)
    const peer = await open(address.webSocket.url)
    await waitFor(() => server.connectionCount === 1)
    peer.ws.close()
  })

  it('verify can read the upgrade request: a token in the URL decides the handshake', async () => {
    const run = await start({ verify: (session) => new URL(session.request!.url, 'ws://x').searchParams.get('token') === 'good' })
    const good = await open(`${run.url}?token=good`)
    const bad = await open(`${run.url}?token=bad`)
    good.ws.send(frame(1, 'hi'))
    bad.ws.send(frame(1, 'hi'))
    expect(await bad.closedWith).toEqual({ code: 4001, reason: 'handshake-rejected' })
    good.ws.send(frame(2, 'after'))
    await waitFor(() => good.messages.length === 1)
    expect(framesOf(good.messages[0]!)).toEqual([[2, 'after']])
  })
})

describe('close reasons reach the peer as close codes', () => {
  it.each([
    ['frame-too-small', 1008],
    ['frame-too-large', 1009],
    ['bad-checksum', 1008],
  ] as const)('a frame with %s closes with %i and the reason’s name', async (reason, code) => {
    const run = await start({ maxPayload: 1024 })
    const peer = await open(run.url)
    peer.ws.send(badFrame(reason))
    expect(await peer.closedWith).toEqual({ code, reason })
    await waitFor(() => run.closed.size === 1)
    expect([...run.closed.values()]).toEqual([reason])
  })

  it('a text message closes with text-message (1003)', async () => {
    const run = await start()
    const peer = await open(run.url)
    peer.ws.send('hello')
    expect(await peer.closedWith).toEqual({ code: 1003, reason: 'text-message' })
    await waitFor(() => run.closed.size === 1)
    expect([...run.closed.values()]).toEqual(['text-message'])
  })

  it('a message above one frame of maxPayload is refused from its header with message-too-large (1009)', async () => {
    const run = await start({ maxPayload: 1024 })
    const peer = await open(run.url)
    peer.ws.send(Buffer.alloc(1024 + 13))
    expect((await peer.closedWith).code).toBe(1009)
    await waitFor(() => run.closed.size === 1)
    expect([...run.closed.values()]).toEqual(['message-too-large'])
  })

  it('stop() closes with server-stopping (1001) after writing what is queued', async () => {
    const run = await start()
    const peer = await open(run.url)
    await waitFor(() => run.sessions.length === 1)
    run.sessions[0]!.send({ id: 5, data: Buffer.from('last words') })
    const stopped = run.server.stop()
    expect(await peer.closedWith).toEqual({ code: 1001, reason: 'server-stopping' })
    expect(peer.messages.flatMap(framesOf)).toEqual([[5, 'last words']])
    await stopped
  })

  it('a kick closes with kicked (4005), a handshake timeout with 4000', async () => {
    const clock = new SimulatedClock()
    const run = await start({ clock, handshakeTimeout: 1_000 })
    const quiet = await open(run.url)
    const kicked = await open(run.url)
    kicked.ws.send(frame(1, 'hi'))
    await waitFor(() => run.sessions.some((session) => session.state === 'active'))
    run.sessions.find((session) => session.state === 'active')!.close()
    expect(await kicked.closedWith).toEqual({ code: 4005, reason: 'kicked' })
    for (let t = 0; t < 1_000; t += 250) clock.increment(250)
    expect(await quiet.closedWith).toEqual({ code: 4000, reason: 'handshake-timeout' })
  })

  it('maps every close reason to a code in the ranges RFC 6455 allows', () => {
    for (const code of Object.values(WEBSOCKET_CLOSE_CODES)) expect(code === 1000 || (code >= 1001 && code <= 1011) || (code >= 4000 && code <= 4999)).toBe(true)
  })
})

describe('the upgrade', () => {
  it('a plain GET gets a short text; other methods get 405', async () => {
    const run = await start()
    const port = run.address.webSocket!.port
    expect(await rawHttp(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 200[\s\S]*zerostate/)
    expect(await rawHttp(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')).toMatch(/^HTTP\/1\.1 405/)
  })

  it('refuses another path with 404, a bad upgrade with 400, each with its code as the body, and opens no session', async () => {
    const run = await start({}, { webSocket: { port: 0, path: '/play' } })
    const port = run.address.webSocket!.port
    expect(await rawHttp(port, UPGRADE('/other'))).toMatch(/^HTTP\/1\.1 404[\s\S]*not-found\n$/)
    expect(await rawHttp(port, UPGRADE('/play').replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 99'))).toMatch(
      /^HTTP\/1\.1 400[\s\S]*bad-upgrade\n$/,
    )
    expect(run.sessions).toHaveLength(0)
    await open(`ws://127.0.0.1:${port}/play`)
    await waitFor(() => run.sessions.length === 1)
  })

  it('refuses a page from another site (403 origin-not-allowed) and lets in the same host, listed origins and clients with no Origin', async () => {
    const run = await start({}, { webSocket: { port: 0, allowedOrigins: ['https://game.example'] } })
    await expect(open(run.url, { origin: 'https://evil.example' })).rejects.toThrow(/403/)
    await open(run.url, { origin: 'https://game.example' })
    await open(run.url, { origin: `http://127.0.0.1:${run.address.webSocket!.port}` })
    await open(run.url)
    await waitFor(() => run.sessions.length === 3)
  })

  it('cuts a slowloris upgrade (headers one byte at a time, never finished) at the handshake timeout', async () => {
    const clock = new SimulatedClock()
    const run = await start({ clock, handshakeTimeout: 1_000 })
    const socket = connectSocket({ host: '127.0.0.1', port: run.address.webSocket!.port })
    sockets.add(socket)
    let answer = ''
    socket.setEncoding('utf8').on('data', (text: string) => (answer += text))
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    socket.write('GET / HTTP/1.1\r\nHo')
    await new Promise((resolve) => setTimeout(resolve, 20))
    for (let t = 0; t < 1_000; t += 250) clock.increment(250)
    await closed
    expect(answer).toMatch(/^HTTP\/1\.1 408[\s\S]*handshake-timeout\n$/)
    expect(run.sessions).toHaveLength(0)
  })
})

describe('listen options', () => {
  it.each([
    [{ port: false }, /a TCP `port`, a `webSocket`, or both/],
    [{ port: 0, webSocket: { port: 70_000 } }, /`webSocket.port` to be an integer from 0 to 65535/],
    [{ port: 0, webSocket: { path: 'play' } }, /`webSocket.path` to be a path starting with \//],
    [{ port: 0, webSocket: { allowedOrigins: 'evil' } }, /`webSocket.allowedOrigins`/],
  ])('rejects %j with an OptionError and binds nothing', async (options, message) => {
    const server = createServer()
    servers.add(server)
    await expect(server.listen(options as ListenOptions & { port: false })).rejects.toThrow(message)
    expect(server.state).toBe('idle')
  })

  it('releases the TCP port when the WebSocket port is taken', async () => {
    const first = await start()
    const second = createServer()
    servers.add(second)
    await expect(second.listen({ host: '127.0.0.1', port: 0, webSocket: { port: first.address.webSocket!.port } })).rejects.toThrow(/EADDRINUSE/)
    expect(second.state).toBe('idle')
  })
})
