/**
 * The game-logic side: handlers run one at a time in arrival order (async ones awaited), a failing
 * handler is reported and skipped, unicast and broadcast.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { HandlerError } from '../src/errors.js'
import type { Message } from '../src/protocol/message.js'
import type { Session } from '../src/session.js'
import { frame } from './helpers/frames.js'
import { cleanup, openClient, rng, roundTrip, startServer } from './helpers/harness.js'
import { RawPeer } from './helpers/rawPeer.js'
import { settle, waitFor, within } from './helpers/wait.js'

afterEach(cleanup)

describe('handler ordering', () => {
  it('runs async handlers strictly one at a time, in per-client arrival order', async () => {
    const CLIENTS = 8
    const PER_CLIENT = 40
    const r = rng(2024)
    let running = 0
    let maxRunning = 0
    const log: { session: string; kind: 'connect' | 'message' | 'disconnect'; seq: number }[] = []

    /** A random small await: nothing, microtasks, an immediate, or a 0–2 ms timer. */
    const randomAwait = async (): Promise<void> => {
      const pick = r.int(4)
      if (pick === 1) for (let i = 0; i < 1 + r.int(5); i++) await null
      else if (pick === 2) await new Promise<void>((resolve) => setImmediate(resolve))
      else if (pick === 3) await new Promise<void>((resolve) => setTimeout(resolve, r.int(3)))
    }
    const track = async (entry: (typeof log)[number]): Promise<void> => {
      running++
      maxRunning = Math.max(maxRunning, running)
      await randomAwait()
      log.push(entry)
      await randomAwait()
      running--
    }

    const h = await startServer({ echo: false })
    h.onConnect((session) => track({ session: session.id, kind: 'connect', seq: -1 }))
    h.onMessage((session, message) => track({ session: session.id, kind: 'message', seq: Buffer.from(message.data).readUInt32LE(0) }))
    h.onDisconnect((session) => track({ session: session.id, kind: 'disconnect', seq: -2 }))

    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => openClient(h.port)))
    const ports = clients.map((c) => c.localPort)
    // Interleave sends from every client, a few frames per tick, so arrivals mix across sessions.
    for (let seq = 0; seq < PER_CLIENT; seq++) {
      for (const client of clients) {
        const data = Buffer.alloc(4)
        data.writeUInt32LE(seq, 0)
        client.send({ id: 1, data })
      }
      if (seq % 5 === 4) await new Promise<void>((resolve) => setImmediate(resolve))
    }
    await waitFor(() => log.filter((e) => e.kind === 'message').length === CLIENTS * PER_CLIENT, { timeout: 10_000 })
    await Promise.all(clients.map((c) => c.close()))
    await waitFor(() => log.filter((e) => e.kind === 'disconnect').length === CLIENTS)

    expect(maxRunning).toBe(1)
    const sessions = new Map<number, string>()
    for (const port of ports) sessions.set(port, h.sessionOnPort(port)!.id)
    for (const port of ports) {
      const id = sessions.get(port)!
      const events = log.filter((e) => e.session === id)
      // connect first, every message in order, disconnect last.
      expect(events.map((e) => e.seq)).toEqual([-1, ...Array.from({ length: PER_CLIENT }, (_, i) => i), -2])
    }
  })

  it('an async onConnect finishes before the first message of its session runs', async () => {
    const order: string[] = []
    const h = await startServer({ echo: false })
    h.onConnect(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20))
      order.push('connect done')
    })
    h.onMessage((session, message) => {
      order.push(`message ${message.id}`)
      session.send(message)
    })
    const client = await openClient(h.port)
    await roundTrip(client, { id: 1, data: Buffer.alloc(0) })
    expect(order).toEqual(['connect done', 'message 1'])
  })
})

describe('failing handlers', () => {
  it('a sync throw and a rejected promise go to onError with the session, and the next message still runs', async () => {
    const h = await startServer({ echo: false })
    const boom = new Error('sync boom')
    const rejection = new Error('async boom')
    h.onMessage(async (session, message) => {
      if (message.id === 13) throw boom
      await null
      if (message.id === 14) throw rejection
      session.send({ id: message.id, data: Buffer.from('ok') })
    })
    const client = await openClient(h.port)
    const session = await h.sessionFor(client.localPort)
    client.send({ id: 13, data: Buffer.alloc(0) })
    client.send({ id: 14, data: Buffer.alloc(0) })
    client.send({ id: 15, data: Buffer.alloc(0) })
    const echo = await within(client.receive(), 2_000, 'echo after failures')
    expect(echo.id).toBe(15)
    expect(h.messages.map((m) => m.message.id)).toEqual([13, 14, 15])
    expect(h.errors).toHaveLength(2)
    for (const [i, cause] of [boom, rejection].entries()) {
      const { error, session: reported } = h.errors[i]!
      expect(error).toBeInstanceOf(HandlerError)
      expect(error.code).toBe('handler-error')
      expect(error.cause).toBe(cause)
      expect(reported).toBe(session)
    }
    expect(session.state).toBe('active')
  })

  it('a non-async handler that throws synchronously is skipped; a non-Error rejection is reported too', async () => {
    const h = await startServer({ echo: false })
    h.onMessage((session, message) => {
      if (message.id === 1) throw new TypeError('plain throw')
      if (message.id === 2) return Promise.reject('a string')
      session.send(message)
      return undefined
    })
    const client = await openClient(h.port)
    client.send({ id: 1, data: Buffer.alloc(0) })
    client.send({ id: 2, data: Buffer.alloc(0) })
    const echo = await roundTrip(client, { id: 3, data: Buffer.from('next') })
    expect(echo.id).toBe(3)
    await waitFor(() => h.errors.length === 2)
    expect(h.errors[0]!.error.cause).toBeInstanceOf(TypeError)
    expect(h.errors[1]!.error.cause).toBe('a string')
  })

  it('throwing onConnect and onDisconnect are reported and do not break the session or the server', async () => {
    const h = await startServer()
    h.onConnect(() => {
      throw new Error('connect failed')
    })
    h.onDisconnect(() => {
      throw new Error('disconnect failed')
    })
    const client = await openClient(h.port)
    const echo = await roundTrip(client, { id: 1, data: Buffer.from('a') })
    expect(echo.id).toBe(1)
    await client.close()
    await waitFor(() => h.errors.length === 2)
    expect(h.errors.map((e) => e.error.message)).toEqual([expect.stringContaining('connect failed'), expect.stringContaining('disconnect failed')])
    const other = await openClient(h.port)
    await roundTrip(other, { id: 2, data: Buffer.from('b') })
  })

  it('an onError that throws does not stop the game', async () => {
    const h = await startServer({ echo: false })
    h.server.onError(() => {
      throw new Error('onError failed')
    })
    h.onMessage((session, message) => {
      if (message.id === 1) throw new Error('handler failed')
      session.send(message)
    })
    const client = await openClient(h.port)
    client.send({ id: 1, data: Buffer.alloc(0) })
    const echo = await roundTrip(client, { id: 2, data: Buffer.alloc(0) })
    expect(echo.id).toBe(2)
  })
})

describe('unicast and broadcast', () => {
  it('unicast to an unknown id returns false; to a live id returns true and the message arrives', async () => {
    const h = await startServer()
    const a = await openClient(h.port)
    const b = await openClient(h.port)
    await roundTrip(a, { id: 1, data: Buffer.alloc(0) })
    await roundTrip(b, { id: 1, data: Buffer.alloc(0) })
    const sessionB = await h.sessionFor(b.localPort)

    expect(h.server.unicast('00000000-0000-4000-8000-000000000000', { id: 5, data: Buffer.from('nobody') })).toBe(false)
    expect(h.server.unicast('', { id: 5, data: Buffer.from('nobody') })).toBe(false)
    expect(h.server.unicast(sessionB.id, { id: 6, data: Buffer.from('for b') })).toBe(true)
    const got = await within(b.receive(), 2_000, 'unicast to b')
    expect(got.id).toBe(6)
    expect(Buffer.from(got.data).toString()).toBe('for b')
    // a got nothing.
    await settle()
    const race = await Promise.race([a.receive().then(() => 'message'), new Promise((resolve) => setTimeout(resolve, 20, 'none'))])
    expect(race).toBe('none')
  })

  it('unicast to a session that has closed returns false', async () => {
    const h = await startServer()
    const client = await openClient(h.port)
    await roundTrip(client, { id: 1, data: Buffer.alloc(0) })
    const session = await h.sessionFor(client.localPort)
    await client.close()
    await h.disconnectOf(session)
    expect(h.server.unicast(session.id, { id: 2, data: Buffer.alloc(0) })).toBe(false)
    expect(session.send({ id: 2, data: Buffer.alloc(0) })).toBe(false)
  })

  it('unicast from inside a handler reaches another session', async () => {
    const h = await startServer({ echo: false })
    const a = await openClient(h.port)
    const b = await openClient(h.port)
    const sessionB = await h.sessionFor(b.localPort)
    b.send({ id: 9, data: Buffer.alloc(0) }) // finish b's handshake; not echoed
    await waitFor(() => sessionB.state === 'active')
    const results: boolean[] = []
    h.onMessage((_session, message) => {
      results.push(h.server.unicast(sessionB.id, { id: message.id + 100, data: Buffer.from(message.data) }))
    })
    a.send({ id: 1, data: Buffer.from('relay') })
    const got = await within(b.receive(), 2_000, 'relayed message')
    expect(got.id).toBe(101)
    expect(results).toEqual([true])
  })

  it('broadcast returns the number of live sessions and each receives the message', async () => {
    const N = 12
    const h = await startServer()
    const clients = await Promise.all(Array.from({ length: N }, () => openClient(h.port)))
    for (const client of clients) await roundTrip(client, { id: 1, data: Buffer.alloc(0) })
    // One connection still in its handshake is not live: it takes no part in broadcasts.
    const pending = await RawPeer.open(h.port)
    const pendingSession = await h.sessionFor(pending.localPort)
    expect(pendingSession.state).toBe('handshake')
    // One closed connection is gone from the registry.
    const gone = await openClient(h.port)
    await roundTrip(gone, { id: 1, data: Buffer.alloc(0) })
    const goneSession = await h.sessionFor(gone.localPort)
    await gone.close()
    await h.disconnectOf(goneSession)

    const payload = Buffer.from('to everyone')
    expect(h.server.broadcast({ id: 77, data: payload })).toBe(N)
    const received: Message[] = await Promise.all(clients.map((c) => within(c.receive(), 2_000, 'broadcast')))
    for (const message of received) {
      expect(message.id).toBe(77)
      expect(Buffer.from(message.data).equals(payload)).toBe(true)
    }
    await settle()
    expect(pending.messages).toHaveLength(0)

    // Once the pending one finishes its handshake it is counted.
    await pending.write(frame(1, 'hi'))
    await waitFor(() => pendingSession.state === 'active')
    expect(h.server.broadcast({ id: 78, data: Buffer.alloc(0) })).toBe(N + 1)
    await waitFor(() => pending.messages.some((m) => m.id === 78))
  })

  it('broadcast with no sessions returns 0', async () => {
    const h = await startServer()
    expect(h.server.broadcast({ id: 1, data: Buffer.alloc(0) })).toBe(0)
  })

  it('server.session(id) finds a live session and forgets a closed one', async () => {
    const h = await startServer()
    const client = await openClient(h.port)
    const session: Session = await h.sessionFor(client.localPort)
    expect(h.server.session(session.id)).toBe(session)
    await client.close()
    await h.disconnectOf(session)
    expect(h.server.session(session.id)).toBeUndefined()
  })
})
