/**
 * The WebSocket client in Node, on `ws`: against a real zerostate server listening on WebSocket
 * (round trips, heartbeats, the close reasons a server sends) and against a stand-in server
 * (test/fixtures/webSocketFixture.ts) for what a real one never does: a bad frame, a text
 * message, a close without a reason, a dropped connection; it also counts messages, to see sends
 * coalesced.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { OptionError } from '../src/errors.js'
import { createServer, type Server, type ServerOptions, type Session } from '../src/index.js'
import { encodeFrame } from '../src/protocol/encoder.js'
import type { Message } from '../src/protocol/message.js'
import { connectWebSocket, type WebSocketClientOptions } from '../src/webSocketClient.js'
import type { ZerostateClient } from '../src/client/zerostateClient.js'
import { startWebSocketFixture, type WebSocketFixture } from './fixtures/webSocketFixture.js'
import { sleep, waitFor } from './helpers/wait.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (data: Uint8Array): string => new TextDecoder().decode(data)

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  vi.unstubAllGlobals()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** An echo server on WebSocket alone; `sessions` are the live ones, by arrival. */
async function echoServer(options: ServerOptions = {}): Promise<{ server: Server; url: string; sessions: Session[] }> {
  const server = createServer(options)
  const sessions: Session[] = []
  server.onConnect((session) => void sessions.push(session))
  server.onMessage((session, message) => void session.send({ id: message.id, data: Uint8Array.from(message.data) }))
  const address = await server.listen({ host: '127.0.0.1', port: false, webSocket: { port: 0 } })
  cleanups.push(() => server.stop())
  return { server, url: address.webSocket.url, sessions }
}

async function open(url: string, options: Partial<WebSocketClientOptions> = {}): Promise<ZerostateClient> {
  const client = await connectWebSocket({ url, WebSocket, heartbeatInterval: 0, ...options })
  cleanups.push(() => client.close())
  return client
}

async function fixture(): Promise<WebSocketFixture> {
  const f = await startWebSocketFixture()
  cleanups.push(() => f.close())
  return f
}

describe('connectWebSocket against a zerostate server', () => {
  it('round-trips messages in order, through receive() and through onMessage', async () => {
    const { url } = await echoServer()
    const client = await open(url)
    client.send({ id: 1, data: text('hello') })
    client.send({ id: -7, data: new Uint8Array(0) })
    client.send({ id: 0x7fffffff, data: new Uint8Array(3000).fill(0x5a) })
    const first = await client.receive()
    expect([first.id, str(first.data)]).toEqual([1, 'hello'])
    expect((await client.receive()).id).toBe(-7)
    const big = await client.receive()
    expect([big.id, big.data.length, big.data.every((b) => b === 0x5a)]).toEqual([0x7fffffff, 3000, true])

    const seen: Message[] = []
    client.onMessage((message) => seen.push(message))
    for (let i = 2; i < 12; i++) client.send({ id: i, data: text(`m${i}`) })
    await waitFor(() => seen.length === 10)
    expect(seen.map((m) => str(m.data))).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 2}`))
  })

  it('answers the server\'s heartbeats, so a client that sends nothing outlives the heartbeat timeout', async () => {
    const { url, sessions } = await echoServer({ heartbeat: { interval: 60, timeout: 300 } })
    const client = await open(url)
    await sleep(700)
    expect(client.closeReason).toBeNull()
    expect(client.heartbeats).toBeGreaterThanOrEqual(2)
    expect(sessions[0]!.closeReason).toBeNull()
  })

  it('reports the close reason of the server\'s close frame: kicked, server-stopping, handshake-rejected', async () => {
    const { server, url, sessions } = await echoServer({ verify: (_session, message) => str(message.data) === 'letmein' })
    const kicked = await open(url)
    kicked.send({ id: 1, data: text('letmein') })
    await waitFor(() => sessions.length === 1 && sessions[0]!.state !== 'handshake')
    sessions[0]!.close()
    expect(await kicked.closed).toBe('kicked')
    expect(kicked.closeReason).toBe('kicked')

    const rejected = await open(url)
    rejected.send({ id: 1, data: text('wrong') })
    expect(await rejected.closed).toBe('handshake-rejected')

    const stopping = await open(url)
    stopping.send({ id: 1, data: text('letmein') })
    await waitFor(() => sessions.length === 3 && sessions[2]!.state !== 'handshake')
    const pending = stopping.receive()
    await server.stop()
    expect(await stopping.closed).toBe('server-stopping')
    await expect(pending).rejects.toThrow('connection closed: server-stopping')
    await expect(stopping.receive()).rejects.toThrow('connection closed: server-stopping')
    expect(stopping.send({ id: 1, data: text('late') })).toBe(false)
  })

  it('close() flushes what was sent, resolves once closed and makes receive() reject', async () => {
    const { url, sessions } = await echoServer()
    const client = await open(url)
    client.send({ id: 5, data: text('last words') })
    await client.close()
    expect(client.closeReason).toBe('client-closed')
    expect(await client.closed).toBe('client-closed')
    await expect(client.receive()).rejects.toThrow('connection closed: client-closed')
    await waitFor(() => sessions[0]?.closeReason === 'client-closed')
  })

  it('rejects when no server listens there', async () => {
    const { server, url } = await echoServer()
    await server.stop()
    await expect(connectWebSocket({ url, WebSocket })).rejects.toThrow(/WebSocket connection to .* failed/)
  })
})

describe('connectWebSocket against a stand-in server', () => {
  it('coalesces the sends of one tick into one WebSocket message, and the next tick into another', async () => {
    const f = await fixture()
    const client = await open(f.url)
    const peer = await f.nextPeer()
    for (let i = 1; i <= 3; i++) client.send({ id: i, data: text(`frame ${i}`) })
    await waitFor(() => peer.messages.length === 1)
    client.send({ id: 4, data: text('next tick') })
    await waitFor(() => peer.messages.length === 2)
    expect(peer.messages.map((m) => m.frames.map((frame) => frame.id))).toEqual([[1, 2, 3], [4]])
    expect(peer.messages[0]!.bytes).toBe(3 * (12 + 7))
  })

  it('answers each heartbeat with one, and sends its own after heartbeatInterval of silence', async () => {
    const f = await fixture()
    const client = await open(f.url, { heartbeatInterval: 40 })
    const peer = await f.nextPeer()
    await waitFor(() => peer.messages.length >= 2, { message: 'no heartbeats of its own' })
    expect(peer.messages.every((m) => m.frames.length === 1 && m.frames[0]!.id === 0 && m.frames[0]!.data.length === 0)).toBe(true)

    const quiet = await open(f.url)
    const quietPeer = await f.nextPeer()
    quietPeer.socket.send(Buffer.concat([encodeFrame(0, new Uint8Array(0)), encodeFrame(0, new Uint8Array(0))]))
    await waitFor(() => quiet.heartbeats === 2 && quietPeer.messages.length === 1)
    expect(quietPeer.messages[0]!.frames.map((m) => m.id)).toEqual([0, 0])
    expect(client.closeReason).toBeNull()
  })

  it('decodes frames however the server packs them into messages', async () => {
    const f = await fixture()
    const client = await open(f.url)
    const peer = await f.nextPeer()
    const bytes = Buffer.concat([encodeFrame(1, text('one')), encodeFrame(2, text('two')), encodeFrame(3, text('three'))])
    peer.socket.send(bytes.subarray(0, 5))
    peer.socket.send(bytes.subarray(5, 30))
    peer.socket.send(bytes.subarray(30))
    const got = [await client.receive(), await client.receive(), await client.receive()]
    expect(got.map((m) => `${m.id}:${str(m.data)}`)).toEqual(['1:one', '2:two', '3:three'])
  })

  it('closes with the protocol error code when the server sends a bad frame, and says so in its close frame', async () => {
    const f = await fixture()
    const client = await open(f.url)
    const peer = await f.nextPeer()
    const good = encodeFrame(9, text('fine'))
    const bad = Buffer.from(encodeFrame(9, text('corrupt')))
    bad[bad.length - 1]! ^= 0xff
    const pending = client.receive().then(() => client.receive())
    peer.socket.send(Buffer.concat([good, bad]))
    expect(await client.closed).toBe('bad-checksum')
    await expect(pending).rejects.toThrow('connection closed: bad-checksum')
    await waitFor(() => peer.closedWith !== null)
    expect(peer.closedWith).toEqual({ code: 1000, reason: 'bad-checksum' })

    const small = await open(f.url, { maxPayload: 16 })
    const smallPeer = await f.nextPeer()
    smallPeer.socket.send(encodeFrame(1, new Uint8Array(17)))
    expect(await small.closed).toBe('frame-too-large')
  })

  it('closes with text-message when the server sends text', async () => {
    const f = await fixture()
    const client = await open(f.url)
    const peer = await f.nextPeer()
    peer.socket.send('hello')
    expect(await client.closed).toBe('text-message')
  })

  it('reports server-closed for a close frame without a zerostate reason, reset for a dropped connection', async () => {
    const f = await fixture()
    const plain = await open(f.url)
    ;(await f.nextPeer()).socket.close(1000)
    expect(await plain.closed).toBe('server-closed')

    const other = await open(f.url)
    ;(await f.nextPeer()).socket.close(4999, 'not a reason we know')
    expect(await other.closed).toBe('server-closed')

    const dropped = await open(f.url)
    ;(await f.nextPeer()).socket.terminate()
    expect(await dropped.closed).toBe('reset')
  })

  it('rejects a message that is not a frame without sending anything', async () => {
    const f = await fixture()
    const client = await open(f.url)
    const peer = await f.nextPeer()
    expect(client.send({ id: 2 ** 31, data: new Uint8Array(0) })).toBe(false)
    expect(client.send({ id: 1, data: 'text' } as unknown as Message)).toBe(false)
    client.send({ id: 1, data: text('ok') })
    await waitFor(() => peer.messages.length === 1)
    expect(peer.messages[0]!.frames.map((m) => m.id)).toEqual([1])
  })
})

describe('connectWebSocket options', () => {
  const url = 'ws://127.0.0.1:9/'

  it.each([
    ['heartbeatInterval', { heartbeatInterval: -1 }],
    ['heartbeatInterval', { heartbeatInterval: 1.5 }],
    ['maxPayload', { maxPayload: 0 }],
    ['url', { url: 42 as unknown as string }],
    ['url', { url: 'not a url' }],
    ['url', { url: 'ftp://127.0.0.1/' }],
  ])('throws an OptionError naming %s', (option, bad) => {
    let thrown: unknown
    try {
      void connectWebSocket({ url, WebSocket, ...bad })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(OptionError)
    expect((thrown as OptionError).option).toBe(option)
  })

  it('throws an OptionError naming WebSocket when there is no global WebSocket and none is given', () => {
    vi.stubGlobal('WebSocket', undefined)
    expect(() => connectWebSocket({ url })).toThrow(OptionError)
    try {
      void connectWebSocket({ url })
    } catch (error) {
      expect((error as OptionError).option).toBe('WebSocket')
      expect((error as OptionError).message).toMatch(/ws package/)
    }
  })
})
