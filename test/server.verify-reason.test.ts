/** A `verify` that rejects can tell the client why: its frame arrives before the FIN. */
import { afterEach, expect, it } from 'vitest'
import { frame } from './helpers/frames.js'
import { cleanup, startServer } from './helpers/harness.js'
import { RawPeer } from './helpers/rawPeer.js'

afterEach(cleanup)

it('verify returning { reject } writes that frame, then closes with handshake-rejected and its detail', async () => {
  const h = await startServer({
    verify: async (_session, message) =>
      Buffer.from(message.data).toString() === 'secret' || { reject: { id: 9, data: Buffer.from('bad token') }, detail: 'token unknown' },
  })
  const peer = await RawPeer.open(h.port)
  const session = await h.sessionFor(peer.localPort)
  await peer.write(Buffer.concat([frame(1, 'guess'), frame(2, 'after')]))
  const error = await h.disconnectOf(session)
  expect(error.code).toBe('handshake-rejected')
  expect(error.message).toContain('token unknown')
  await peer.waitClosed()
  expect(peer.gotEnd).toBe(true)
  expect(peer.messages.map((m) => [m.id, m.data.toString()])).toEqual([[9, 'bad token']])
  expect(h.messages).toHaveLength(0)
})

it('a rejection that is not a frame still rejects, and sends nothing', async () => {
  const h = await startServer({ verify: () => ({ reject: { id: 9, data: 'not bytes' } }) as never })
  const peer = await RawPeer.open(h.port)
  const session = await h.sessionFor(peer.localPort)
  await peer.write(frame(1, 'guess'))
  expect((await h.disconnectOf(session)).code).toBe('handshake-rejected')
  await peer.waitClosed()
  expect(peer.frames).toHaveLength(0)
})

it('false still closes with nothing sent', async () => {
  const h = await startServer({ verify: () => false })
  const peer = await RawPeer.open(h.port)
  const session = await h.sessionFor(peer.localPort)
  await peer.write(frame(1, 'guess'))
  expect((await h.disconnectOf(session)).code).toBe('handshake-rejected')
  await peer.waitClosed()
  expect(peer.frames).toHaveLength(0)
})
