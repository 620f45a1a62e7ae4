/** A `verify` that rejects can tell the client why: its frame arrives before the FIN (the close frame over WebSocket). */
import type { VerifyResult } from '../src/options.js'
import { afterEach, describe, expect, it } from 'vitest'
import { frame } from './helpers/frames.js'
import { expectPeerClosed } from './helpers/expectPeerClosed.js'
import { cleanup, startServer } from './helpers/harness.js'
import { TRANSPORTS } from './helpers/peer.js'

afterEach(cleanup)

describe.each(TRANSPORTS)('over %s', (transport) => {
  it('verify returning { reject } writes that frame, then closes with handshake-rejected and its detail', async () => {
    const h = await startServer({
        transport,
      verify: async (_session, message) =>
        Buffer.from(message.data).toString() === 'secret' || { reject: { id: 9, data: Buffer.from('bad token') }, detail: 'token unknown' },
    })
    const peer = await h.openPeer()
    const session = await h.sessionFor(peer.localPort)
    await peer.write(Buffer.concat([frame(1, 'guess'), frame(2, 'after')]))
    const error = await h.disconnectOf(session)
    expect(error.code).toBe('handshake-rejected')
    expect(error.message).toContain('token unknown')
    await expectPeerClosed(peer, 'handshake-rejected')
    expect(peer.messages.map((m) => [m.id, m.data.toString()])).toEqual([[9, 'bad token']])
    expect(h.messages).toHaveLength(0)
  })

  const verdicts: [string, () => VerifyResult][] = [
    ['a rejection that is not a frame', () => ({ reject: { id: 9, data: 'not bytes' } }) as never],
    ['false', () => false],
  ]
  it.each(verdicts)('%s still rejects, and sends nothing', async (_, verify) => {
    const h = await startServer({ transport, verify })
    const peer = await h.openPeer()
    const session = await h.sessionFor(peer.localPort)
    await peer.write(frame(1, 'guess'))
    expect((await h.disconnectOf(session)).code).toBe('handshake-rejected')
    await expectPeerClosed(peer, 'handshake-rejected')
    expect(peer.frames).toHaveLength(0)
  })
})
