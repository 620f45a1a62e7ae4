/**
 * The TypeScript client's resume, over TCP and over WebSocket, through a proxy that cuts the
 * connection as a network would: the client reconnects on its own, the session, its seat and
 * room go on, what either side sent in the gap arrives once and in order, and the ends that
 * must be final are.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { assign, emit, setup } from 'xstate'
import { broadcast, type RoomEmitted, type RoomEvent, type RoomInput } from '../machines/index.js'
import { connect } from '../src/client.js'
import type { ClientResumeOptions } from '../src/client/clientSettings.js'
import type { ClientStatus, ZerostateClient } from '../src/client/zerostateClient.js'
import type { Message } from '../src/protocol/message.js'
import { connectWebSocket } from '../src/webSocketClient.js'
import { CutProxy } from './helpers/cutProxy.js'
import { cleanup, type Harness, SimulatedClock, startServer } from './helpers/harness.js'
import { TRANSPORTS, type TransportKind } from './helpers/peer.js'
import { settle, waitFor } from './helpers/wait.js'

const proxies: CutProxy[] = []
const clients: ZerostateClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
  for (const proxy of proxies.splice(0)) await proxy.close()
  await cleanup()
})

const GRACE = 5_000
const FAST: ClientResumeOptions = { minDelay: 1, maxDelay: 20 }
const text = (message: Message) => Buffer.from(message.data).toString()

/** A room that tells every player what any player sent, and counts drops and resumes. */
const relay = setup({
  types: { context: {} as { heard: string[] }, events: {} as RoomEvent, input: {} as RoomInput, emitted: {} as RoomEmitted },
}).createMachine({
  context: { heard: [] },
  on: {
    'player.message': { actions: emit(({ event }) => broadcast({ id: 7, data: Uint8Array.from(event.message.data) })) },
    'player.dropped': { actions: assign({ heard: ({ context, event }) => [...context.heard, `dropped ${event.player}`] }) },
    'player.resumed': { actions: assign({ heard: ({ context, event }) => [...context.heard, `resumed ${event.player}`] }) },
    'player.left': { actions: assign({ heard: ({ context, event }) => [...context.heard, `left ${event.player} ${event.reason}`] }) },
  },
})

describe.each(TRANSPORTS)('the client resumes over %s', (transport) => {
  async function setupServer(clock = new SimulatedClock()): Promise<{ h: Harness; proxy: CutProxy }> {
    const h = await startServer({ transport, clock, resume: { grace: GRACE }, echo: false })
    const proxy = await CutProxy.open(transport === 'tcp' ? h.port : Number(new URL(h.webSocketUrl).port))
    proxies.push(proxy)
    return { h, proxy }
  }

  async function open(proxy: CutProxy, kind: TransportKind = transport, resume: ClientResumeOptions | boolean = FAST): Promise<ZerostateClient> {
    const client =
      kind === 'tcp'
        ? await connect({ port: proxy.port, heartbeatInterval: 0, resume })
        : await connectWebSocket({ url: `ws://127.0.0.1:${proxy.port}/`, WebSocket, heartbeatInterval: 0, resume })
    clients.push(client)
    return client
  }

  it('a cut connection is dropped and then open again, the same session; the gap loses and repeats nothing either way', async () => {
    const { h, proxy } = await setupServer()
    const client = await open(proxy)
    const statuses: ClientStatus[] = []
    client.onStatus((status) => statuses.push(status))
    const got: string[] = []
    client.onMessage((message) => got.push(text(message)))
    client.send({ id: 1, data: Buffer.from('c1') })
    await waitFor(() => h.connects.length === 1 && h.messages.length === 1)
    const session = h.connects[0]!
    session.send({ id: 2, data: Buffer.from('s1') })
    await waitFor(() => got.length === 1)

    proxy.cut()
    await waitFor(() => session.state === 'detached')
    session.send({ id: 2, data: Buffer.from('s2') })
    // Sent while the client may or may not have noticed the loss: queued either way.
    expect(client.send({ id: 1, data: Buffer.from('c2') })).toBe(true)
    await waitFor(() => client.status === 'open' && statuses.includes('dropped'))
    expect(client.send({ id: 1, data: Buffer.from('c3') })).toBe(true)
    session.send({ id: 2, data: Buffer.from('s3') })

    await waitFor(() => got.length === 3 && h.messages.length === 3)
    expect(got).toEqual(['s1', 's2', 's3'])
    expect(h.messagesFrom(session).map(text)).toEqual(['c1', 'c2', 'c3'])
    expect(statuses).toEqual(['dropped', 'open'])
    expect(h.connects).toHaveLength(1)
    expect(h.disconnects).toEqual([])
    expect(proxy.connections).toBe(2)
  })

  it('a resume that comes back after the grace is refused, and the client closes with resume-refused', async () => {
    const clock = new SimulatedClock()
    const { h, proxy } = await setupServer(clock)
    const client = await open(proxy)
    client.send({ id: 1, data: Buffer.from('hello') })
    await waitFor(() => h.connects.length === 1)
    const session = h.connects[0]!
    await waitFor(() => session.state === 'active')
    await settle()
    // The network stays down past the grace.
    proxy.blocking = true
    proxy.cut()
    await waitFor(() => session.state === 'detached')
    clock.increment(GRACE + 1_000)
    await waitFor(() => session.state === 'closed')
    expect((await h.disconnectOf(session)).code).toBe('reset')
    expect(client.status).toBe('dropped')
    proxy.blocking = false
    expect(await client.closed).toBe('resume-refused')
    expect(h.connects, 'the refused resume is no session').toHaveLength(1)
  })

  it('the server ending the session for good is final: kicked, no reconnection', async () => {
    const { h, proxy } = await setupServer()
    const client = await open(proxy)
    client.send({ id: 1, data: Buffer.from('hello') })
    await waitFor(() => h.connects.length === 1)
    await settle()
    h.connects[0]!.close('go')
    expect(await client.closed).toBe('kicked')
    await settle()
    expect(proxy.connections).toBe(1)
  })

  it('close() says GOODBYE: the server ends the session at once instead of waiting the grace', async () => {
    const { h, proxy } = await setupServer()
    const client = await open(proxy)
    client.send({ id: 1, data: Buffer.from('hello') })
    await waitFor(() => h.connects.length === 1)
    await settle()
    await client.close()
    expect((await h.disconnectOf(h.connects[0]!)).code).toBe('client-closed')
    expect(client.closeReason).toBe('client-closed')
  })

  it('in a room: the room hears dropped then resumed, the seat stays, and the game goes on (the #950 race: the old connection closing late harms nothing)', async () => {
    const { h, proxy } = await setupServer()
    h.server.room('relay', { machine: relay, maxPlayers: 4 })
    const [a, b] = [await open(proxy), await open(proxy)]
    const heardBy = (client: ZerostateClient) => {
      const heard: string[] = []
      client.onMessage((message) => message.id === 7 && heard.push(text(message)))
      return heard
    }
    const [heardA, heardB] = [heardBy(a), heardBy(b)]
    a.send({ id: -1, data: Buffer.from(JSON.stringify({ name: 'relay' })) })
    b.send({ id: -1, data: Buffer.from(JSON.stringify({ name: 'relay' })) })
    await waitFor(() => h.server.rooms.list('relay')[0]?.players.length === 2)
    const room = h.server.rooms.list('relay')[0]!
    const [sessionA] = h.connects
    a.send({ id: 3, data: Buffer.from('one') })
    await waitFor(() => heardB.length === 1)

    // A's network dies without the server noticing; A comes back on a new connection at once.
    const statuses: ClientStatus[] = []
    a.onStatus((status) => statuses.push(status))
    proxy.cut({ keepServerSide: true })
    await waitFor(() => statuses.join() === 'dropped,open')
    a.send({ id: 3, data: Buffer.from('two') })
    await waitFor(() => heardB.length === 2)
    // The old connection's end now arrives at the server: it no longer belongs to the session.
    proxy.releaseServerSides()
    await settle(10)
    a.send({ id: 3, data: Buffer.from('three') })
    await waitFor(() => heardA.length === 3 && heardB.length === 3)
    expect(heardA).toEqual(['one', 'two', 'three'])
    expect(sessionA!.state).toBe('active')
    expect(h.server.rooms.get(room.id)!.players).toEqual(room.players)
    expect(h.disconnects).toEqual([])
    // B's connection was cut too, and its resume went the same way.
    expect(b.status).toBe('open')
  })
})

describe('grace expiry in a room', () => {
  it('a player who does not come back within the grace leaves with the loss reason, and the room hears left once', async () => {
    const clock = new SimulatedClock()
    const h = await startServer({ clock, resume: { grace: GRACE }, echo: false })
    h.server.room('relay', { machine: relay, maxPlayers: 4, keepWhenEmpty: true })
    const proxy = await CutProxy.open(h.port)
    proxies.push(proxy)
    const client = await connect({ port: proxy.port, heartbeatInterval: 0, resume: FAST })
    clients.push(client)
    client.send({ id: -1, data: Buffer.from(JSON.stringify({ name: 'relay' })) })
    await waitFor(() => h.server.rooms.list('relay')[0]?.players.length === 1)
    const room = h.server.rooms.list('relay')[0]!
    const session = h.connects[0]!
    proxy.blocking = true
    proxy.cut()
    await waitFor(() => session.state === 'detached')
    clock.increment(GRACE + 1_000)
    await waitFor(() => session.state === 'closed')
    await settle()
    const heard = (h.server.rooms.snapshot(room.id).snapshot as unknown as { context: { heard: string[] } }).context.heard
    expect(heard).toEqual([`dropped ${session.id}`, `left ${session.id} reset`])
    expect((await h.disconnectOf(session)).code).toBe('reset')
  })
})

describe('the client on its own clock', () => {
  it('a server silent for resume.silence is taken for lost: the client reconnects and takes its session over', async () => {
    const clock = new SimulatedClock()
    const h = await startServer({ clock: new SimulatedClock(), resume: { grace: GRACE }, echo: true })
    const proxy = await CutProxy.open(h.port)
    proxies.push(proxy)
    const client = await connect({ port: proxy.port, heartbeatInterval: 0, clock, resume: { minDelay: 10, silence: 1_000, random: () => 0 } })
    clients.push(client)
    client.send({ id: 1, data: Buffer.from('hello') })
    await client.receive()
    const session = h.connects[0]!
    proxy.freeze()
    clock.increment(999)
    await settle()
    expect(client.status, 'just under the silence').toBe('open')
    clock.increment(250)
    await waitFor(() => client.status === 'dropped')
    clock.increment(10)
    await waitFor(() => client.status === 'open')
    // The server never saw the old connection go: the resume took the session over from it.
    expect(session.state).toBe('active')
    client.send({ id: 1, data: Buffer.from('again') })
    expect(text(await client.receive())).toBe('again')
    expect(h.connects).toHaveLength(1)
  })

  it('backs off exponentially with jitter, and gives up with the loss after giveUpAfter', async () => {
    const clock = new SimulatedClock()
    const h = await startServer({ clock: new SimulatedClock(), resume: { grace: GRACE }, echo: false })
    const proxy = await CutProxy.open(h.port)
    const client = await connect({ port: proxy.port, heartbeatInterval: 0, clock, resume: { minDelay: 100, maxDelay: 1_000, giveUpAfter: 3_000, random: () => 0.999 } })
    try {
      client.send({ id: 1, data: Buffer.from('hello') })
      await waitFor(() => h.connects.length === 1)
      await settle()
      await proxy.close()
      await waitFor(() => client.status === 'dropped')
      // Each attempt is refused (nothing listens on the port): 100, 200, 400, 800, 1000, 1000 ms apart.
      let elapsed = 0
      for (const delay of [100, 200, 400, 800, 1000]) {
        clock.increment(delay - 1)
        elapsed += delay
        await settle(10)
        expect(client.status, `before the attempt at ${elapsed} ms`).toBe('dropped')
        clock.increment(1)
        await settle(10)
      }
      // The next would come after 3,000 ms: the client gives up with the loss's reason.
      expect(client.status).toBe('closed')
      expect(await client.closed).toBe('reset')
    } finally {
      await client.close()
    }
  })
})
