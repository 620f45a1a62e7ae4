/**
 * What only WebSocket has: a text message, a message declaring more than one frame of maxPayload
 * (refused from the WebSocket header, before its bytes arrive), and a peer breaking the WebSocket
 * protocol. Each closes only its own session with its reason, and the peer gets a close frame
 * with the reason's code and name.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { WEBSOCKET_CLOSE_CODES } from '../src/transport/closeCodes.js'
import { frame } from './helpers/frames.js'
import { cleanup, type Harness, roundTrip, SimulatedClock, startServer } from './helpers/harness.js'
import { clientFrame, OPCODE, UpgradedSocket } from './helpers/upgradedSocket.js'
import { expectPeerClosed } from './helpers/expectPeerClosed.js'
import { RawWebSocketPeer } from './helpers/rawWebSocketPeer.js'
import { waitFor } from './helpers/wait.js'

afterEach(cleanup)

const MAX_PAYLOAD = 1024

/** A good WebSocket client that echoes before and after, so a test can show only the bad session closed. */
async function bystander(h: Harness): Promise<() => Promise<void>> {
  const good = await h.openClient()
  await roundTrip(good, { id: 1, data: Buffer.from('before') })
  return async () => {
    const echo = await roundTrip(good, { id: 2, data: Buffer.from('after') })
    expect(Buffer.from(echo.data).toString()).toBe('after')
    expect(good.closeReason).toBeNull()
  }
}

describe('over WebSocket only', () => {
  it('a text message closes with text-message (1003, "text-message"); the others go on', async () => {
    const h = await startServer({ transport: 'websocket', clock: new SimulatedClock() })
    const stillEchoes = await bystander(h)
    const peer = await RawWebSocketPeer.open(h.webSocketUrl)
    const session = await h.sessionFor(peer.localPort)
    await peer.write(frame(3, 'first'))
    await waitFor(() => peer.messages.length === 1)
    await peer.writeText('hello')
    expect((await h.disconnectOf(session)).code).toBe('text-message')
    await expectPeerClosed(peer, 'text-message')
    expect(h.messagesFrom(session).map((m) => m.id)).toEqual([3])
    await stillEchoes()
  })

  it('a text message in the handshake closes with text-message too', async () => {
    const h = await startServer({ transport: 'websocket', clock: new SimulatedClock() })
    const peer = await RawWebSocketPeer.open(h.webSocketUrl)
    const session = await h.sessionFor(peer.localPort)
    await peer.writeText(frame(1, 'as text').toString('latin1'))
    expect((await h.disconnectOf(session)).code).toBe('text-message')
    await expectPeerClosed(peer, 'text-message')
    expect(h.messages).toHaveLength(0)
  })

  it('a message above one frame of maxPayload is refused from its header: 1009 message-too-large with a few bytes sent', async () => {
    const h = await startServer({ transport: 'websocket', maxPayload: MAX_PAYLOAD, clock: new SimulatedClock() })
    const stillEchoes = await bystander(h)
    const raw = await UpgradedSocket.open(h.webSocketUrl)
    await waitFor(() => h.connects.length === 2)
    const session = h.connects[1]!
    // A binary message header declaring 2 GiB, then 16 bytes of it: the header alone decides.
    await raw.write(clientFrame(OPCODE.binary, Buffer.alloc(16), { declaredLength: 2 ** 31 }).subarray(0, 14 + 16))
    expect((await h.disconnectOf(session)).code).toBe('message-too-large')
    await raw.waitClosed()
    expect(raw.closeFrame?.code).toBe(WEBSOCKET_CLOSE_CODES['message-too-large'])
    await stillEchoes()
  })

  it('an unmasked client frame breaks the WebSocket protocol: websocket-error, close code 1002', async () => {
    const h = await startServer({ transport: 'websocket', clock: new SimulatedClock() })
    const stillEchoes = await bystander(h)
    const raw = await UpgradedSocket.open(h.webSocketUrl)
    await waitFor(() => h.connects.length === 2)
    const session = h.connects[1]!
    await raw.write(clientFrame(OPCODE.binary, frame(1, 'unmasked'), { mask: false }))
    expect((await h.disconnectOf(session)).code).toBe('websocket-error')
    await raw.waitClosed()
    expect(raw.closeFrame?.code).toBe(WEBSOCKET_CLOSE_CODES['websocket-error'])
    expect(h.messagesFrom(session)).toHaveLength(0)
    await stillEchoes()
  })

  // FAILS (a src/ bug, left failing on purpose): for the violations ws detects itself, ws writes
  // its own close frame (the right code, no text) before zerostate hears of them, so the peer is
  // not told the reason's name as every other server-side close tells it.
  it.each(['message-too-large', 'websocket-error'] as const)('the %s close frame carries the reason’s name as its text, as every other close does', async (reason) => {
    const h = await startServer({ transport: 'websocket', maxPayload: MAX_PAYLOAD, clock: new SimulatedClock() })
    const raw = await UpgradedSocket.open(h.webSocketUrl)
    await waitFor(() => h.connects.length === 1)
    const bytes =
      reason === 'message-too-large'
        ? clientFrame(OPCODE.binary, Buffer.alloc(16), { declaredLength: 2 ** 31 }).subarray(0, 14 + 16)
        : clientFrame(OPCODE.binary, frame(1, 'unmasked'), { mask: false })
    await raw.write(bytes)
    expect((await h.disconnectOf(h.connects[0]!)).code).toBe(reason)
    await raw.waitClosed()
    expect(raw.closeFrame).toEqual({ code: WEBSOCKET_CLOSE_CODES[reason], reason })
  })
})
