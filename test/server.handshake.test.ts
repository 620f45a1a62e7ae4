/**
 * The handshake: deadline on an injected clock, verify accepting / rejecting / throwing, and which
 * frames reach onMessage; over TCP and over WebSocket (4000 handshake-timeout, 4001
 * handshake-rejected in the close frame).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Message } from '../src/protocol/message.js'
import type { Session } from '../src/session.js'
import { frame, HEARTBEAT_BYTES } from './helpers/frames.js'
import { expectPeerClosed } from './helpers/expectPeerClosed.js'
import { cleanup, roundTrip, SimulatedClock, startServer } from './helpers/harness.js'
import { TRANSPORTS } from './helpers/peer.js'
import { settle, waitFor } from './helpers/wait.js'

afterEach(cleanup)

const HANDSHAKE_TIMEOUT = 5_000
// Heartbeats far beyond the handshake deadline, so the sweep never interferes.
const QUIET_HEARTBEAT = { interval: 60_000, timeout: 120_000 }

describe.each(TRANSPORTS)('over %s', (transport) => {
  describe('handshake timeout', () => {
    // The server's sweep keeps the deadline: never early, late by at most one sweep period (here a
    // quarter of the handshake timeout).
    it('closes a silent connection with handshake-timeout at the first sweep past the deadline', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, handshakeTimeout: HANDSHAKE_TIMEOUT, heartbeat: QUIET_HEARTBEAT })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      expect(session.state).toBe('handshake')

      clock.increment(HANDSHAKE_TIMEOUT - 1)
      await settle()
      expect(session.state).toBe('handshake')
      expect(peer.closed).toBe(false)
      expect(h.disconnects).toHaveLength(0)

      clock.increment(HANDSHAKE_TIMEOUT / 4)
      expect((await h.disconnectOf(session)).code).toBe('handshake-timeout')
      await expectPeerClosed(peer, 'handshake-timeout')
      expect(session.state).toBe('closed')
      await waitFor(() => h.server.connectionCount === 0)
    })

    it('a heartbeat alone does not finish a handshake that needs verify, so it still times out', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, handshakeTimeout: HANDSHAKE_TIMEOUT, heartbeat: QUIET_HEARTBEAT, verify: () => true })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      await peer.write(HEARTBEAT_BYTES)
      await settle()
      expect(session.state).toBe('handshake')
      clock.increment(HANDSHAKE_TIMEOUT)
      expect((await h.disconnectOf(session)).code).toBe('handshake-timeout')
      await expectPeerClosed(peer, 'handshake-timeout')
    })

    it('a valid first frame before the deadline cancels it', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, handshakeTimeout: HANDSHAKE_TIMEOUT, heartbeat: QUIET_HEARTBEAT })
      const client = await h.openClient()
      await roundTrip(client, { id: 1, data: Buffer.from('hi') })
      const session = await h.sessionFor(client.localPort)
      expect(session.state).toBe('active')
      clock.increment(HANDSHAKE_TIMEOUT * 2)
      await settle()
      expect(session.state).toBe('active')
      expect(h.disconnects).toHaveLength(0)
      await roundTrip(client, { id: 2, data: Buffer.from('still') })
    })

    it('only the silent connection times out; an active one is unaffected', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, handshakeTimeout: HANDSHAKE_TIMEOUT, heartbeat: QUIET_HEARTBEAT })
      const client = await h.openClient()
      await roundTrip(client, { id: 1, data: Buffer.from('a') })
      const silent = await h.openPeer()
      const silentSession = await h.sessionFor(silent.localPort)
      clock.increment(HANDSHAKE_TIMEOUT)
      expect((await h.disconnectOf(silentSession)).code).toBe('handshake-timeout')
      await expectPeerClosed(silent, 'handshake-timeout')
      await roundTrip(client, { id: 2, data: Buffer.from('b') })
      expect(h.disconnects).toHaveLength(1)
    })
  })

  describe('handshake verify', () => {
    it('verify returning false closes with handshake-rejected and delivers nothing', async () => {
      const seen: Message[] = []
      const h = await startServer({
        transport,
        verify: (_session, message) => {
          seen.push({ id: message.id, data: Buffer.from(message.data) })
          return false
        },
      })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      await peer.write(Buffer.concat([frame(1, 'wrong password'), frame(2, 'after')]))
      expect((await h.disconnectOf(session)).code).toBe('handshake-rejected')
      await expectPeerClosed(peer, 'handshake-rejected')
      expect(seen).toEqual([{ id: 1, data: Buffer.from('wrong password') }])
      expect(h.messages).toHaveLength(0)
      expect(session.state).toBe('closed')
    })

    it('async verify resolving false closes with handshake-rejected', async () => {
      const h = await startServer({ transport, verify: async () => false })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      await peer.write(frame(1, 'token'))
      expect((await h.disconnectOf(session)).code).toBe('handshake-rejected')
      await expectPeerClosed(peer, 'handshake-rejected')
    })

    it('verify throwing closes with handshake-rejected (and does not crash the server)', async () => {
      const h = await startServer({
        transport,
        verify: () => {
          throw new Error('verify blew up')
        },
      })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      await peer.write(frame(1, 'token'))
      expect((await h.disconnectOf(session)).code).toBe('handshake-rejected')
      await expectPeerClosed(peer, 'handshake-rejected')
      expect(h.messages).toHaveLength(0)
    })

    it('verify rejecting its promise closes with handshake-rejected', async () => {
      const h = await startServer({ transport, verify: () => Promise.reject(new Error('no')) })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      await peer.write(frame(1, 'token'))
      expect((await h.disconnectOf(session)).code).toBe('handshake-rejected')
      await expectPeerClosed(peer, 'handshake-rejected')
    })

    it('verify accepting: the first frame is the credential and is not delivered; later frames are', async () => {
      const verified: { session: Session; message: Message }[] = []
      const h = await startServer({
        transport,
        verify: async (session, message) => {
          verified.push({ session, message: { id: message.id, data: Buffer.from(message.data) } })
          await new Promise((resolve) => setTimeout(resolve, 5))
          return Buffer.from(message.data).toString() === 'secret'
        },
      })
      const client = await h.openClient()
      const session = await h.sessionFor(client.localPort)
      client.send({ id: 100, data: Buffer.from('secret') })
      await waitFor(() => session.state === 'active')
      expect(verified).toHaveLength(1)
      expect(verified[0]!.session).toBe(session)
      expect(verified[0]!.message.id).toBe(100)
      const echo = await roundTrip(client, { id: 2, data: Buffer.from('game') })
      expect(echo.id).toBe(2)
      await roundTrip(client, { id: 3, data: Buffer.from('more') })
      expect(h.messages.map((m) => m.message.id)).toEqual([2, 3])
      expect(verified).toHaveLength(1)
    })

    it('verify accepting: frames pipelined behind the credential wait for verify and arrive in order', async () => {
      let release!: (ok: boolean) => void
      const h = await startServer({ transport, verify: () => new Promise<boolean>((resolve) => (release = resolve)) })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      await peer.write(Buffer.concat([frame(1, 'cred'), frame(2, 'a'), HEARTBEAT_BYTES, frame(3, 'b')]))
      await waitFor(() => release !== undefined)
      await peer.write(frame(4, 'c'))
      await settle()
      expect(session.state).toBe('handshake')
      expect(h.messages).toHaveLength(0)
      release(true)
      await waitFor(() => h.messages.length === 3)
      expect(h.messages.map((m) => m.message.id)).toEqual([2, 3, 4])
      await waitFor(() => peer.messages.length === 3)
      expect(peer.messages.map((m) => m.id)).toEqual([2, 3, 4])
    })

    it('a verify rejecting after a delay still rejects, and a concurrent verified session is unaffected', async () => {
      const h = await startServer({ transport, verify: async (_s, m) => Buffer.from(m.data).toString() === 'ok' })
      const good = await h.openClient()
      good.send({ id: 1, data: Buffer.from('ok') })
      const bad = await h.openPeer()
      const badSession = await h.sessionFor(bad.localPort)
      await bad.write(frame(1, 'nope'))
      expect((await h.disconnectOf(badSession)).code).toBe('handshake-rejected')
      const echo = await roundTrip(good, { id: 5, data: Buffer.from('x') })
      expect(echo.id).toBe(5)
    })

    it('without verify, the first valid frame activates the session and is delivered', async () => {
      const h = await startServer({ transport })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      expect(session.state).toBe('handshake')
      await peer.write(frame(1, 'first'))
      await waitFor(() => h.messages.length === 1)
      expect(session.state).toBe('active')
      expect(h.messages[0]!.message.id).toBe(1)
      await waitFor(() => peer.messages.length === 1)
      expect(peer.messages[0]!.id).toBe(1)
    })

    it('without verify, a heartbeat as the first frame activates the session but is not delivered', async () => {
      const h = await startServer({ transport })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      await peer.write(HEARTBEAT_BYTES)
      await waitFor(() => session.state === 'active')
      await settle()
      expect(h.messages).toHaveLength(0)
    })

    it('handshake: false makes a session active on accept, like zero', async () => {
      const h = await startServer({ transport, handshake: false })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      expect(session.state).toBe('active')
      await peer.write(frame(1, 'x'))
      await waitFor(() => peer.messages.length === 1)
    })
  })
})
