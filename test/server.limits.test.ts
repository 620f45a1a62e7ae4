/**
 * The per-session limits over TCP and over WebSocket, with the same close reasons: a peer that does
 * not read is closed with slow-consumer once `maxBufferedBytes` is unsent (over WebSocket that
 * counts what ws holds unsent), or when it is still held paused at the heartbeat timeout; a peer
 * sending faster than `maxMessagesPerSecond` is closed with rate-limited (a peer held paused cannot
 * be heard either, so its silence says nothing of whether it is alive). Over WebSocket the peer
 * gets a close frame naming the reason (4003, 4004).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { expectPeerClosed } from './helpers/expectPeerClosed.js'
import { frame } from './helpers/frames.js'
import { cleanup, SimulatedClock, startServer } from './helpers/harness.js'
import { TRANSPORTS } from './helpers/peer.js'
import { nextIO, settle, waitFor } from './helpers/wait.js'

afterEach(cleanup)

const KiB = 1024
const MiB = 1024 * KiB

describe.each(TRANSPORTS)('over %s', (transport) => {
  it('a peer that stops reading is closed with slow-consumer once maxBufferedBytes is unsent; what it was sent is intact', async () => {
    const MAX_BUFFERED = 1 * MiB
    // A simulated clock that never moves: no heartbeat deadline can close the session.
    const h = await startServer({ transport, clock: new SimulatedClock(), maxBufferedBytes: MAX_BUFFERED, echo: false })
    const peer = await h.openPeer()
    const session = await h.sessionFor(peer.localPort)
    await peer.write(frame(1, 'hello'))
    await waitFor(() => session.state === 'active')
    peer.pauseReading()

    // 64 KiB per I/O turn until the server refuses: the kernel's buffers fill first, then the
    // transport's own (the socket's, or ws's) up to maxBufferedBytes.
    const data = Buffer.alloc(64 * KiB, 3)
    let sent = 0
    while (session.closeReason === null && sent < 2_000) {
      data.writeUInt32LE(sent, 0)
      if (!session.send({ id: 2, data })) break
      sent++
      await nextIO()
    }
    expect((await h.disconnectOf(session)).code).toBe('slow-consumer')
    // Bounded: the kernel holds a few MiB of loopback buffers, the server no more than its limit.
    expect(sent * data.length, `sent ${sent} frames`).toBeLessThan(64 * MiB)
    expect(session.send({ id: 2, data })).toBe(false)

    peer.resumeReading()
    await expectPeerClosed(peer, 'slow-consumer', 10_000)
    expect(peer.wellFormed).toBe(true)
    // What arrived is what was sent, in order, up to some frame (the rest was dropped at the close).
    const got = peer.messages.map((m) => Buffer.from(m.data).readUInt32LE(0))
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i))
    expect(got.length).toBeLessThanOrEqual(sent)
  })

  it('closes a flooder with rate-limited while a peer at half the rate is never closed', async () => {
    const RATE = 10
    const clock = new SimulatedClock()
    const h = await startServer({ transport, clock, maxMessagesPerSecond: RATE, heartbeat: { interval: 60_000, timeout: 120_000 } })
    const polite = await h.openPeer()
    const flooder = await h.openPeer()
    const politeSession = await h.sessionFor(polite.localPort)
    const flooderSession = await h.sessionFor(flooder.localPort)
    for (let second = 0; second < 5; second++) {
      for (let i = 0; i < RATE / 2; i++) await polite.write(frame(1, `${second}.${i}`))
      await waitFor(() => polite.messages.length === (second + 1) * (RATE / 2))
      if (second === 1) await flooder.write(Buffer.concat(Array.from({ length: 2 * RATE + 1 }, () => frame(2, 'flood'))))
      clock.increment(1_000)
      await settle(2)
    }
    expect((await h.disconnectOf(flooderSession)).code).toBe('rate-limited')
    await expectPeerClosed(flooder, 'rate-limited')
    expect(h.messagesFrom(flooderSession)).toHaveLength(0)
    expect(politeSession.state).toBe('active')
    expect(polite.closed).toBe(false)
    expect(h.disconnects).toHaveLength(1)
  })
})

describe.each(TRANSPORTS)('held paused for backpressure, over %s', (transport) => {
  it('a peer held paused past the heartbeat timeout is closed with slow-consumer, not heartbeat-timeout', async () => {
    const clock = new SimulatedClock()
    // Reading pauses at a quarter of maxBufferedBytes unsent (2 MiB). One event-loop turn can read
    // 2 MiB (libuv reads a socket up to 32 times a turn) before the echoes are written, so the
    // overflow at 8 MiB stays out of reach.
    const h = await startServer({ transport, clock, heartbeat: { interval: 1_000, timeout: 3_000 }, maxBufferedBytes: 8 * MiB })
    const peer = await h.openPeer()
    const session = await h.sessionFor(peer.localPort)
    peer.pauseReading()
    // 32 MiB of 64 KiB frames: far more than the kernel's buffers on both sides and the hold.
    const chunk = frame(7, Buffer.alloc(64 * KiB, 1))
    for (let i = 0; i < 512; i++) void peer.write(chunk).catch(() => {})
    // The server echoes until the peer's buffers are full, then stops reading: the count stops growing.
    let seen = -1
    await waitFor(
      () => {
        const now = h.messagesFrom(session).length
        const stable = now > 0 && now === seen
        seen = now
        return stable
      },
      { interval: 100, timeout: 10_000, message: 'the server stopped reading the peer' },
    )
    expect(seen).toBeLessThan(512)
    expect(session.closeReason, `closed after ${seen} echoes`).toBeNull()

    for (let t = 0; t < 3_000; t += 250) clock.increment(250)
    await settle()
    expect((await h.disconnectOf(session)).code).toBe('slow-consumer')
    peer.resumeReading()
    if (transport === 'websocket') await expectPeerClosed(peer, 'slow-consumer', 10_000)
  })

  it('a silent peer that reads everything is still closed with heartbeat-timeout', async () => {
    const clock = new SimulatedClock()
    const h = await startServer({ transport, clock, heartbeat: { interval: 1_000, timeout: 3_000 } })
    const peer = await h.openPeer()
    const session = await h.sessionFor(peer.localPort)
    await peer.write(frame(7, Buffer.alloc(64 * KiB, 1)))
    await waitFor(() => h.messagesFrom(session).length === 1)
    for (let t = 0; t < 3_000; t += 250) clock.increment(250)
    await settle()
    expect((await h.disconnectOf(session)).code).toBe('heartbeat-timeout')
  })
})
