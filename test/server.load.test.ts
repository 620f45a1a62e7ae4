/**
 * 1000 concurrent clients, all connected at once, each echoing a few frames.
 */
import { afterEach, expect, it } from 'vitest'
import type { Client } from '../src/client.js'
import { bytesEqual } from './helpers/frames.js'
import { cleanup, openClient, rng, startServer } from './helpers/harness.js'
import { waitFor, within } from './helpers/wait.js'

afterEach(cleanup)

it('serves 1000 concurrent clients, each echoing its own frames in order', async () => {
  const CLIENTS = 1000
  const BATCH = 100
  const FRAMES = 3
  const r = rng(1000)
  const h = await startServer()
  const started = performance.now()

  const clients: Client[] = []
  for (let i = 0; i < CLIENTS; i += BATCH) {
    clients.push(...(await Promise.all(Array.from({ length: BATCH }, () => openClient(h.port)))))
  }
  await waitFor(() => h.server.connectionCount === CLIENTS, { timeout: 10_000, message: `connectionCount ${h.server.connectionCount}` })
  const connected = performance.now()

  // Every client sends its frames while all the others are connected too.
  const payloads = clients.map((_, c) => Array.from({ length: FRAMES }, (_, f) => ({ id: c * FRAMES + f + 1, data: r.bytes(1 + r.int(256)) })))
  for (const [c, client] of clients.entries()) for (const message of payloads[c]!) expect(client.send(message)).toBe(true)
  await Promise.all(
    clients.map(async (client, c) => {
      for (const sent of payloads[c]!) {
        const echo = await within(client.receive(), 10_000, `echo for client ${c}`)
        expect(echo.id).toBe(sent.id)
        expect(bytesEqual(echo.data, sent.data)).toBe(true)
      }
    }),
  )
  const echoed = performance.now()

  expect(h.server.connectionCount).toBe(CLIENTS)
  expect(h.connects).toHaveLength(CLIENTS)
  expect(h.messages).toHaveLength(CLIENTS * FRAMES)
  expect(h.disconnects).toHaveLength(0)
  expect(new Set(h.connects.map((s) => s.id)).size).toBe(CLIENTS)
  // Everyone gets a broadcast.
  expect(h.server.broadcast({ id: -1, data: Buffer.from('all') })).toBe(CLIENTS)
  const got = await Promise.all(clients.map((c) => within(c.receive(), 10_000, 'broadcast')))
  expect(got.every((m) => m.id === -1)).toBe(true)

  await Promise.all(clients.map((c) => c.close()))
  await waitFor(() => h.server.connectionCount === 0 && h.disconnects.length === CLIENTS, { timeout: 10_000 })
  expect(h.disconnects.every((d) => d.error.code === 'client-closed')).toBe(true)
  console.log(
    `1000 clients: connect ${(connected - started).toFixed(0)} ms, echo ${(echoed - connected).toFixed(0)} ms, close ${(performance.now() - echoed).toFixed(0)} ms`,
  )
})
