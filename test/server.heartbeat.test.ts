/**
 * Heartbeats on an injected clock: missed → probe → recovery, timeout, outbound heartbeats only to
 * sessions written nothing to, and inbound heartbeats that never reach the game and get no reply;
 * over TCP and over WebSocket (where a heartbeat timeout is a close frame, 4002 heartbeat-timeout).
 *
 * The server's sweep runs every quarter of the shortest heartbeat delay (250 ms here) and a
 * SimulatedClock fires a timer at most once per increment, so time advances in steps that land
 * exactly on the interval boundaries.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { frame, HEARTBEAT_BYTES } from './helpers/frames.js'
import { expectPeerClosed } from './helpers/expectPeerClosed.js'
import { cleanup, type Harness, roundTrip, SimulatedClock, startServer } from './helpers/harness.js'
import { type Peer, TRANSPORTS } from './helpers/peer.js'
import { settle, waitFor } from './helpers/wait.js'

afterEach(cleanup)

const INTERVAL = 1_000
const TIMEOUT = 3_000
const HEARTBEAT = { interval: INTERVAL, timeout: TIMEOUT }

async function activePeer(h: Harness): Promise<Peer> {
  const peer = await h.openPeer()
  const session = await h.sessionFor(peer.localPort)
  await peer.write(frame(1, 'hello'))
  await waitFor(() => session.state === 'active' && h.messagesFrom(session).length === 1)
  return peer
}

/** Advances the clock, then lets the resulting writes and closes reach the sockets. */
async function advance(clock: SimulatedClock, ms: number): Promise<void> {
  clock.increment(ms)
  await settle()
}

describe.each(TRANSPORTS)('over %s', (transport) => {
  describe('heartbeat missed → probe → recovery', () => {
    it('no inbound frame for one interval: heartbeatMissed and a 12-byte id-0 probe; any frame returns to active', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, heartbeat: HEARTBEAT, echo: false })
      const peer = await activePeer(h)
      const session = await h.sessionFor(peer.localPort)

      await advance(clock, INTERVAL - 250)
      expect(session.state).toBe('active')
      expect(peer.received.length).toBe(0)

      await advance(clock, 250)
      expect(session.state).toBe('heartbeatMissed')
      await waitFor(() => peer.received.length >= 12)
      // Exactly one probe: the bytes of a heartbeat frame, nothing else.
      expect(peer.received.equals(HEARTBEAT_BYTES)).toBe(true)
      expect(peer.frames).toHaveLength(1)
      expect(peer.frames[0]).toMatchObject({ id: 0, badChecksum: false })
      expect(peer.frames[0]!.data.length).toBe(0)

      // A game frame brings it back, and is delivered.
      await peer.write(frame(2, 'back'))
      await waitFor(() => session.state === 'active')
      await waitFor(() => h.messagesFrom(session).length === 2)
      expect(h.messagesFrom(session).map((m) => m.id)).toEqual([1, 2])
      expect(h.disconnects).toHaveLength(0)

      // Silent again for one interval: missed again; a heartbeat (id 0) is enough to recover.
      await advance(clock, INTERVAL)
      expect(session.state).toBe('heartbeatMissed')
      await waitFor(() => peer.heartbeats === 2)
      await peer.write(HEARTBEAT_BYTES)
      await waitFor(() => session.state === 'active')
      await settle()
      expect(h.messagesFrom(session)).toHaveLength(2)
    })

    it('a TypeScript client answers the probe by itself, which recovers the session', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, heartbeat: HEARTBEAT })
      const client = await h.openClient()
      await roundTrip(client, { id: 1, data: Buffer.from('x') })
      const session = await h.sessionFor(client.localPort)
      clock.increment(INTERVAL)
      await waitFor(() => client.heartbeats === 1)
      await waitFor(() => session.state === 'active')
      expect(h.messagesFrom(session)).toHaveLength(1)
      expect(h.disconnects).toHaveLength(0)
    })

    it('stays silent until the timeout: heartbeat-timeout, socket closed', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, heartbeat: HEARTBEAT })
      const peer = await activePeer(h)
      const session = await h.sessionFor(peer.localPort)

      await advance(clock, INTERVAL)
      expect(session.state).toBe('heartbeatMissed')
      await advance(clock, INTERVAL)
      expect(session.state).toBe('heartbeatMissed')
      await advance(clock, TIMEOUT - 2 * INTERVAL - 250)
      expect(session.state).toBe('heartbeatMissed')
      expect(h.disconnects).toHaveLength(0)
      expect(peer.closed).toBe(false)

      clock.increment(250)
      expect((await h.disconnectOf(session)).code).toBe('heartbeat-timeout')
      await expectPeerClosed(peer, 'heartbeat-timeout')
      expect(session.state).toBe('closed')
      await waitFor(() => h.server.connectionCount === 0)
    })

    it('times out only the silent session; a session that keeps sending survives', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, heartbeat: HEARTBEAT })
      const silent = await activePeer(h)
      const chatty = await activePeer(h)
      const silentSession = await h.sessionFor(silent.localPort)
      const chattySession = await h.sessionFor(chatty.localPort)
      for (let t = 500; t <= TIMEOUT; t += 500) {
        await chatty.write(frame(3, `t=${t}`))
        await waitFor(() => h.messagesFrom(chattySession).some((m) => Buffer.from(m.data).toString() === `t=${t}`))
        await advance(clock, 500)
        expect(chattySession.state).toBe('active')
      }
      expect((await h.disconnectOf(silentSession)).code).toBe('heartbeat-timeout')
      await expectPeerClosed(silent, 'heartbeat-timeout')
      expect(chatty.closed).toBe(false)
      expect(h.disconnects).toHaveLength(1)
    })
  })

  describe('outbound heartbeats', () => {
    it('a session written nothing to for one interval gets a heartbeat; a busy one does not', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, heartbeat: HEARTBEAT, echo: false })
      // Echo only id 2, so the server writes to `busy` and never to `quiet`.
      h.onMessage((session, message) => {
        if (message.id === 2) session.send({ id: 2, data: Buffer.from(message.data) })
      })
      const quiet = await h.openPeer()
      const busy = await h.openPeer()
      const quietSession = await h.sessionFor(quiet.localPort)
      const busySession = await h.sessionFor(busy.localPort)

      for (let step = 1; step <= 4; step++) {
        // Both peers send, so neither misses a heartbeat; only `busy` is written to.
        await quiet.write(frame(1, `q${step}`))
        await busy.write(frame(2, `b${step}`))
        await waitFor(() => busy.messages.length === step && h.messagesFrom(quietSession).length === step)
        await advance(clock, 500)
        expect(quietSession.state).toBe('active')
        expect(busySession.state).toBe('active')
      }
      // 2000 ms with nothing written to `quiet`: one heartbeat per interval.
      await waitFor(() => quiet.heartbeats === 2)
      expect(quiet.frames.every((f) => f.id === 0 && f.raw.equals(HEARTBEAT_BYTES))).toBe(true)
      expect(quiet.messages).toHaveLength(0)
      expect(busy.heartbeats).toBe(0)
      expect(busy.messages).toHaveLength(4)
    })

    it('a session still in its handshake is also sent heartbeats once written nothing to for an interval', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, heartbeat: HEARTBEAT, handshakeTimeout: 10 * TIMEOUT })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      await advance(clock, INTERVAL)
      expect(session.state).toBe('handshake')
      await waitFor(() => peer.heartbeats === 1)
    })

    it('a TypeScript client on the same clock keeps its session alive with its own heartbeats', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, heartbeat: HEARTBEAT })
      const client = await h.openClient({ heartbeatInterval: INTERVAL / 2, clock })
      await roundTrip(client, { id: 1, data: Buffer.from('x') })
      const session = await h.sessionFor(client.localPort)
      const states = new Set<string>()
      for (let t = 0; t < 2 * TIMEOUT; t += 250) {
        await advance(clock, 250)
        states.add(session.state)
      }
      expect([...states]).toEqual(['active'])
      expect(h.disconnects).toHaveLength(0)
      expect(h.messagesFrom(session)).toHaveLength(1)
      await roundTrip(client, { id: 2, data: Buffer.from('y') })
    })
  })

  describe('inbound heartbeats', () => {
    it('are not delivered to onMessage and get no reply', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, heartbeat: HEARTBEAT })
      const peer = await activePeer(h)
      const session = await h.sessionFor(peer.localPort)
      await waitFor(() => peer.messages.length === 1)

      // One by one, several in one write, and mixed with game frames.
      await peer.write(HEARTBEAT_BYTES)
      await peer.write(Buffer.concat([HEARTBEAT_BYTES, HEARTBEAT_BYTES, HEARTBEAT_BYTES]))
      await peer.write(Buffer.concat([HEARTBEAT_BYTES, frame(7, 'game'), HEARTBEAT_BYTES]))
      await waitFor(() => peer.messages.length === 2)
      await settle()
      expect(h.messagesFrom(session).map((m) => m.id)).toEqual([1, 7])
      // Only the two echoes came back, no heartbeat reply.
      expect(peer.frames.map((f) => f.id)).toEqual([1, 7])
      expect(session.state).toBe('active')
    })

    it('count as inbound activity: a peer sending only heartbeats never misses one', async () => {
      const clock = new SimulatedClock()
      const h = await startServer({ transport, clock, heartbeat: HEARTBEAT })
      const peer = await activePeer(h)
      const session = await h.sessionFor(peer.localPort)
      for (let t = 500; t <= 2 * TIMEOUT; t += 500) {
        await peer.write(HEARTBEAT_BYTES)
        await settle()
        await advance(clock, 500)
        expect(session.state, `t=${t}`).toBe('active')
      }
      expect(h.disconnects).toHaveLength(0)
      expect(h.messagesFrom(session)).toHaveLength(1)
    })
  })

  describe('an idle peer that answers every heartbeat', () => {
    // A fractional origin is what a real clock gives; from 0.1, adding up periods is inexact.
    it.each([0, 0.1])('never shows as heartbeatMissed, even when every sweep timer runs late (clock from %s ms)', async (origin) => {
      const clock = new SimulatedClock()
      clock.increment(origin)
      const h = await startServer({ transport, clock, heartbeat: HEARTBEAT, echo: false })
      const peer = await activePeer(h)
      const session = await h.sessionFor(peer.localPort)
      const states = new Set<string>()
      let answered = 0
      // Steps of a sweep period plus 1 ms: each tick runs a little after it was due, as real timers do.
      for (let step = 0; step < 48; step++) {
        await advance(clock, 251)
        // The first probe is earned: the peer was silent since its first frame. From then on it answers.
        if (answered > 0) states.add(session.state)
        while (answered < peer.heartbeats) {
          answered++
          await peer.write(HEARTBEAT_BYTES)
        }
        await settle()
      }
      expect(answered).toBeGreaterThanOrEqual(11)
      expect([...states]).toEqual(['active'])
      expect(h.disconnects).toHaveLength(0)
    })
  })
})
