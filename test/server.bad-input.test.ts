/**
 * Bad input closes only its own connection, with the right typed reason, and allocates nothing large;
 * every other session keeps echoing. Over TCP and over WebSocket (the same bytes in binary messages):
 * the same reasons, and over WebSocket a close frame with the reason's code and name.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { type CloseReason, ProtocolError, type ProtocolErrorCode } from '../src/errors.js'
import { frame, int32 } from './helpers/frames.js'
import { expectPeerClosed } from './helpers/expectPeerClosed.js'
import { cleanup, type Harness, roundTrip, SimulatedClock, startServer } from './helpers/harness.js'
import { TRANSPORTS } from './helpers/peer.js'
import { waitFor } from './helpers/wait.js'

afterEach(cleanup)

const MAX_PAYLOAD = 1024
const MB = 1024 * 1024

interface BadInput {
  name: string
  bytes: () => Buffer
  code: ProtocolErrorCode
  /** Over WebSocket, bytes in a message above one frame of maxPayload are refused from the message's own header. */
  webSocket?: 'message-too-large'
}

/** A valid frame with its checksum's last byte flipped. */
function corrupted(): Buffer {
  const bytes = frame(3, 'tampered')
  bytes[bytes.length - 1]! ^= 0x01
  return bytes
}

/** A valid frame with one payload byte flipped (the checksum no longer matches). */
function corruptedPayload(): Buffer {
  const bytes = frame(3, 'tampered')
  bytes[9]! ^= 0x80
  return bytes
}

// Size-field cases send the 4 size bytes alone: the limits must be checked from them.
const BAD_INPUTS: BadInput[] = [
  { name: 'size 4 (< 8)', bytes: () => int32(4), code: 'frame-too-small' },
  { name: 'size 7 (< 8), with a full header', bytes: () => Buffer.concat([int32(7), int32(1), Buffer.alloc(4)]), code: 'frame-too-small' },
  { name: 'size 0', bytes: () => int32(0), code: 'frame-too-small' },
  { name: 'negative size -1', bytes: () => int32(-1), code: 'frame-too-small' },
  { name: 'size -2^31', bytes: () => int32(-0x80000000), code: 'frame-too-small' },
  { name: 'size 0x7fffffff', bytes: () => int32(0x7fffffff), code: 'frame-too-large' },
  { name: 'one byte over maxPayload', bytes: () => int32(8 + MAX_PAYLOAD + 1), code: 'frame-too-large' },
  {
    name: 'one byte over maxPayload, with a full payload following',
    bytes: () => Buffer.concat([int32(8 + MAX_PAYLOAD + 1), int32(1), Buffer.alloc(MAX_PAYLOAD + 1 + 4)]),
    code: 'frame-too-large',
    webSocket: 'message-too-large',
  },
  { name: 'bad checksum', bytes: corrupted, code: 'bad-checksum' },
  { name: 'payload byte flipped', bytes: corruptedPayload, code: 'bad-checksum' },
]

function memory(): { rss: number; arrayBuffers: number; heapUsed: number } {
  const { rss, arrayBuffers, heapUsed } = process.memoryUsage()
  return { rss, arrayBuffers, heapUsed }
}

/**
 * Runs one bad input against a server that also serves a well-behaved client, and checks that only
 * the bad connection closes, with `code`, on its bytes alone (no deadline can fire), and with no
 * large allocation.
 */
async function expectClosesOnlyItself(h: Harness, bad: Buffer, code: CloseReason, phase: 'handshake' | 'active'): Promise<void> {
  const good = await h.openClient()
  const warmup = await roundTrip(good, { id: 1, data: Buffer.from('before') })
  expect(Buffer.from(warmup.data).toString()).toBe('before')
  const goodSession = await h.sessionFor(good.localPort)

  const peer = await h.openPeer()
  const badSession = await h.sessionFor(peer.localPort)
  if (phase === 'active') {
    await peer.write(frame(5, 'valid first'))
    await waitFor(() => peer.messages.length === 1)
    expect(badSession.state).toBe('active')
  } else {
    expect(badSession.state).toBe('handshake')
  }

  // Sample memory also from inside onDisconnect, so a large buffer freed right after is still seen.
  let peak = memory()
  const before = memory()
  h.onDisconnect(() => {
    const now = memory()
    peak = { rss: Math.max(peak.rss, now.rss), arrayBuffers: Math.max(peak.arrayBuffers, now.arrayBuffers), heapUsed: Math.max(peak.heapUsed, now.heapUsed) }
  })

  // The server's clock is simulated and never advanced: no deadline can close the connection, so
  // a close proves the bytes decided it, without waiting for more.
  await peer.write(bad)
  await peer.waitClosed()
  const error = await h.disconnectOf(badSession)
  const after = memory()

  expect(error.code).toBe(code)
  expect(badSession.state).toBe('closed')
  expect(badSession.closeReason).toBe(code)
  // The server closed in order after the error (a FIN, a close frame), not by waiting for more bytes.
  await expectPeerClosed(peer, code)
  for (const key of ['rss', 'arrayBuffers', 'heapUsed'] as const) {
    expect(Math.max(peak[key], after[key]) - before[key], `${key} grew`).toBeLessThan(50 * MB)
  }

  // Only the bad connection ended: the good session is untouched and still echoes.
  expect(h.disconnects.map((d) => d.session.id)).toEqual([badSession.id])
  expect(goodSession.state).toBe('active')
  expect(good.closeReason).toBeNull()
  for (let i = 0; i < 5; i++) {
    const echo = await roundTrip(good, { id: 10 + i, data: Buffer.from(`after ${i}`) })
    expect(Buffer.from(echo.data).toString()).toBe(`after ${i}`)
  }
  await waitFor(() => h.server.connectionCount === 1)
  expect(h.server.session(badSession.id)).toBeUndefined()
  expect(h.server.session(goodSession.id)).toBe(goodSession)
  // Nothing from the bad frame reached the game.
  expect(h.messagesFrom(badSession).map((m) => m.id)).toEqual(phase === 'active' ? [5] : [])
}

describe.each(TRANSPORTS)('over %s', (transport) => {
  describe.each(['handshake', 'active'] as const)('bad input while %s', (phase) => {
    it.each(BAD_INPUTS)('$name → $code, only that connection closes', async ({ bytes, code, webSocket }) => {
      const h = await startServer({ maxPayload: MAX_PAYLOAD, clock: new SimulatedClock(), transport })
      await expectClosesOnlyItself(h, bytes(), transport === 'websocket' ? (webSocket ?? code) : code, phase)
    })
  })

  describe('bad input, more cases', () => {
    it('0x7fffffff with the default 1 MiB maxPayload: closed from the header alone, nothing large allocated', async () => {
      const h = await startServer({ clock: new SimulatedClock(), transport })
      await expectClosesOnlyItself(h, Buffer.concat([int32(0x7fffffff), int32(1)]), 'frame-too-large', 'active')
    })

    it('valid frames before a bad one in the same write are delivered, then the connection closes', async () => {
      const h = await startServer({ maxPayload: MAX_PAYLOAD, transport })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      await peer.write(Buffer.concat([frame(1, 'a'), frame(2, 'b'), corrupted(), frame(4, 'never')]))
      await peer.waitClosed()
      expect(await h.disconnectOf(session)).toMatchObject({ code: 'bad-checksum' })
      expect(h.messagesFrom(session).map((m) => m.id)).toEqual([1, 2])
    })

    it('many bad peers at once close with their own codes while a good client keeps echoing', async () => {
      const h = await startServer({ maxPayload: MAX_PAYLOAD, transport })
      const good = await h.openClient()
      await roundTrip(good, { id: 1, data: Buffer.from('x') })
      const peers = await Promise.all(BAD_INPUTS.map(() => h.openPeer()))
      const sessions = await Promise.all(peers.map((p) => h.sessionFor(p.localPort)))
      await Promise.all(peers.map((p, i) => p.write(BAD_INPUTS[i]!.bytes())))
      await Promise.all(peers.map((p) => p.waitClosed()))
      for (const [i, session] of sessions.entries()) {
        const { name, code, webSocket } = BAD_INPUTS[i]!
        const expected = transport === 'websocket' ? (webSocket ?? code) : code
        expect((await h.disconnectOf(session)).code, name).toBe(expected)
        await expectPeerClosed(peers[i]!, expected)
      }
      const echo = await roundTrip(good, { id: 2, data: Buffer.from('still here') })
      expect(Buffer.from(echo.data).toString()).toBe('still here')
      await waitFor(() => h.server.connectionCount === 1)
    })

    // The decoder builds a ProtocolError with the detail (sizes, checksums); the exported ProtocolError
    // class documents itself as what a peer's invalid bytes produce, so onDisconnect should get it.
    it.each([
      { bytes: () => int32(8 + MAX_PAYLOAD + 1), code: 'frame-too-large', detail: `exceeds maxPayload ${MAX_PAYLOAD}` },
      { bytes: () => int32(-1), code: 'frame-too-small', detail: 'size field -1' },
      { bytes: corrupted, code: 'bad-checksum', detail: 'expected 0x' },
    ])('onDisconnect gets a ProtocolError carrying the decoder detail for $code', async ({ bytes, code, detail }) => {
      const h = await startServer({ maxPayload: MAX_PAYLOAD, transport })
      const peer = await h.openPeer()
      const session = await h.sessionFor(peer.localPort)
      await peer.write(bytes())
      await peer.waitClosed()
      const error = await h.disconnectOf(session)
      expect(error.code).toBe(code)
      expect(error).toBeInstanceOf(ProtocolError)
      expect(error.message).toContain(detail)
    })
  })
})
