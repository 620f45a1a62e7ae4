/**
 * stop(): every live session closes with server-stopping, clients see the close, queued handler
 * work finishes first, disconnect handlers run, and the promise resolves with the server stopped;
 * over TCP and over WebSocket (queued frames first, then a close frame 1001 server-stopping).
 */
import { connect as connectSocket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createServer } from '../src/server.js'
import { expectPeerClosed } from './helpers/expectPeerClosed.js'
import { cleanup, roundTrip, startServer, type TestClient } from './helpers/harness.js'
import { TRANSPORTS } from './helpers/peer.js'
import { frame } from './helpers/frames.js'
import { waitFor, within } from './helpers/wait.js'

afterEach(cleanup)

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectSocket({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve('connected')
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
  })
}

describe.each(TRANSPORTS)('over %s', (transport) => {
  /** How a TypeScript client sees the stop: a TCP FIN says nothing, a close frame names the reason. */
  const stopSeen = transport === 'tcp' ? 'server-closed' : 'server-stopping'

  it('writes every frame queued before stop() (200 of them, 1 MiB) before the orderly close', async () => {
    const h = await startServer({ transport, echo: false })
    const peer = await h.openPeer()
    const session = await h.sessionFor(peer.localPort)
    await peer.write(frame(1, 'hello'))
    await waitFor(() => session.state === 'active')
    const data = Buffer.alloc(5 * 1024, 7)
    for (let i = 0; i < 200; i++) {
      data.writeUInt32LE(i, 0)
      expect(session.send({ id: 10, data })).toBe(true)
    }
    const stopped = h.server.stop()
    await expectPeerClosed(peer, 'server-stopping')
    await within(stopped, 5_000, 'stop()')
    expect(peer.wellFormed).toBe(true)
    expect(peer.messages.map((m) => Buffer.from(m.data).readUInt32LE(0))).toEqual(Array.from({ length: 200 }, (_, i) => i))
    expect(h.reasonOf(session.id)).toBe('server-stopping')
  })

  describe('stop()', () => {
    it('closes every live session with server-stopping, clients see the close, and resolves stopped', async () => {
      const h = await startServer({ transport })
      const clients: TestClient[] = await Promise.all(Array.from({ length: 6 }, () => h.openClient()))
      for (const client of clients) await roundTrip(client, { id: 1, data: Buffer.from('hi') })
      const handshaking = await h.openPeer()
      await h.sessionFor(handshaking.localPort)
      expect(h.server.connectionCount).toBe(7)
      expect(h.server.state).toBe('listening')

      const stopping = h.server.stop()
      expect(h.server.stop()).toBe(stopping)
      await within(stopping, 5_000, 'stop()')

      expect(h.server.state).toBe('stopped')
      expect(h.server.connectionCount).toBe(0)
      expect(h.disconnects).toHaveLength(7)
      for (const { error, session } of h.disconnects) {
        expect(error.code).toBe('server-stopping')
        expect(session.state).toBe('closed')
        expect(session.closeReason).toBe('server-stopping')
      }
      expect(h.pairingProblems()).toEqual([])
      const reasons = await Promise.all(clients.map((c) => within(c.closed, 2_000, 'client close')))
      expect(reasons).toEqual(clients.map(() => stopSeen))
      await expectPeerClosed(handshaking, 'server-stopping')
      // Not accepting any more, on any port.
      expect(await refused(h.port)).toBe('ECONNREFUSED')
      if (h.url !== null) expect(await refused(Number(new URL(h.url).port))).toBe('ECONNREFUSED')
      // Nothing can be sent any more.
      expect(h.server.broadcast({ id: 1, data: Buffer.alloc(0) })).toBe(0)
      for (const { session } of h.disconnects) expect(session.send({ id: 1, data: Buffer.alloc(0) })).toBe(false)
    })

    it('lets a running async handler finish and writes its reply before closing', async () => {
      const h = await startServer({ transport })
      let started = false
      h.onMessage(async (session, message) => {
        started = true
        await new Promise((resolve) => setTimeout(resolve, 30))
        session.send({ id: message.id + 1, data: Buffer.from('late reply') })
      })
      const client = await h.openClient()
      const session = await h.sessionFor(client.localPort)
      client.send({ id: 10, data: Buffer.from('slow') })
      await waitFor(() => started)
      await within(h.server.stop(), 5_000, 'stop()')
      const reply = await within(client.receive(), 2_000, 'reply written before the close')
      expect(reply.id).toBe(11)
      expect(Buffer.from(reply.data).toString()).toBe('late reply')
      expect(await client.closed).toBe(stopSeen)
      expect(h.reasonOf(session.id)).toBe('server-stopping')
    })

    it('waits for async onDisconnect handlers before resolving', async () => {
      const h = await startServer({ transport })
      let finished = 0
      h.onDisconnect(async () => {
        await new Promise((resolve) => setTimeout(resolve, 10))
        finished++
      })
      const clients = await Promise.all(Array.from({ length: 4 }, () => h.openClient()))
      for (const client of clients) await roundTrip(client, { id: 1, data: Buffer.alloc(0) })
      await within(h.server.stop(), 5_000, 'stop()')
      expect(finished).toBe(4)
    })

    it('works with no sessions, and on a server that never listened', async () => {
      const h = await startServer({ transport })
      await within(h.server.stop(), 2_000, 'stop() with no sessions')
      expect(h.server.state).toBe('stopped')
      const idle = createServer()
      await within(idle.stop(), 2_000, 'stop() before listen')
      expect(idle.state).toBe('stopped')
    })

    it('stops with many sessions at once', async () => {
      const h = await startServer({ transport })
      const clients: TestClient[] = []
      for (let batch = 0; batch < 3; batch++) {
        clients.push(...(await Promise.all(Array.from({ length: 100 }, () => h.openClient()))))
      }
      await Promise.all(clients.map((c) => roundTrip(c, { id: 1, data: Buffer.alloc(0) })))
      await within(h.server.stop(), 5_000, 'stop()')
      expect(h.disconnects).toHaveLength(300)
      expect(h.disconnects.every((d) => d.error.code === 'server-stopping')).toBe(true)
      await Promise.all(clients.map((c) => within(c.closed, 2_000, 'client close')))
    })
  })
})
