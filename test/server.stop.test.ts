/**
 * stop(): every live session closes with server-stopping, clients see the close, queued handler
 * work finishes first, disconnect handlers run, and the promise resolves with the server stopped.
 */
import { connect as connectSocket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { Client } from '../src/client.js'
import { createServer } from '../src/server.js'
import { cleanup, openClient, roundTrip, startServer } from './helpers/harness.js'
import { RawPeer } from './helpers/rawPeer.js'
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

describe('stop()', () => {
  it('closes every live session with server-stopping, clients see the close, and resolves stopped', async () => {
    const h = await startServer()
    const clients: Client[] = await Promise.all(Array.from({ length: 6 }, () => openClient(h.port)))
    for (const client of clients) await roundTrip(client, { id: 1, data: Buffer.from('hi') })
    const handshaking = await RawPeer.open(h.port)
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
    expect(reasons).toEqual(clients.map(() => 'server-closed'))
    await handshaking.waitClosed()
    expect(handshaking.gotEnd).toBe(true)
    // Not accepting any more.
    expect(await refused(h.port)).toBe('ECONNREFUSED')
    // Nothing can be sent any more.
    expect(h.server.broadcast({ id: 1, data: Buffer.alloc(0) })).toBe(0)
    for (const { session } of h.disconnects) expect(session.send({ id: 1, data: Buffer.alloc(0) })).toBe(false)
  })

  it('lets a running async handler finish and writes its reply before closing', async () => {
    const h = await startServer()
    let started = false
    h.onMessage(async (session, message) => {
      started = true
      await new Promise((resolve) => setTimeout(resolve, 30))
      session.send({ id: message.id + 1, data: Buffer.from('late reply') })
    })
    const client = await openClient(h.port)
    const session = await h.sessionFor(client.localPort)
    client.send({ id: 10, data: Buffer.from('slow') })
    await waitFor(() => started)
    await within(h.server.stop(), 5_000, 'stop()')
    const reply = await within(client.receive(), 2_000, 'reply written before the close')
    expect(reply.id).toBe(11)
    expect(Buffer.from(reply.data).toString()).toBe('late reply')
    expect(await client.closed).toBe('server-closed')
    expect(h.reasonOf(session.id)).toBe('server-stopping')
  })

  it('waits for async onDisconnect handlers before resolving', async () => {
    const h = await startServer()
    let finished = 0
    h.onDisconnect(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10))
      finished++
    })
    const clients = await Promise.all(Array.from({ length: 4 }, () => openClient(h.port)))
    for (const client of clients) await roundTrip(client, { id: 1, data: Buffer.alloc(0) })
    await within(h.server.stop(), 5_000, 'stop()')
    expect(finished).toBe(4)
  })

  it('works with no sessions, and on a server that never listened', async () => {
    const h = await startServer()
    await within(h.server.stop(), 2_000, 'stop() with no sessions')
    expect(h.server.state).toBe('stopped')
    const idle = createServer()
    await within(idle.stop(), 2_000, 'stop() before listen')
    expect(idle.state).toBe('stopped')
  })

  it('stops with many sessions at once', async () => {
    const h = await startServer()
    const clients: Client[] = []
    for (let batch = 0; batch < 3; batch++) {
      clients.push(...(await Promise.all(Array.from({ length: 100 }, () => openClient(h.port)))))
    }
    await Promise.all(clients.map((c) => roundTrip(c, { id: 1, data: Buffer.alloc(0) })))
    await within(h.server.stop(), 5_000, 'stop()')
    expect(h.disconnects).toHaveLength(300)
    expect(h.disconnects.every((d) => d.error.code === 'server-stopping')).toBe(true)
    await Promise.all(clients.map((c) => within(c.closed, 2_000, 'client close')))
  })
})
