/**
 * onConnect / onDisconnect pairing under random churn: hundreds of sockets connecting, closing with
 * a FIN, resetting with an RST, and being kicked by the server, concurrently. Every connect has
 * exactly one disconnect with the reason that matches what happened, and the registry ends empty.
 */
import { afterEach, expect, it } from 'vitest'
import type { CloseReason } from '../src/errors.js'
import type { Client } from '../src/client.js'
import { cleanup, openClient, rng, roundTrip, startServer } from './helpers/harness.js'
import { sleep, waitFor, within } from './helpers/wait.js'

afterEach(cleanup)

type Action =
  /** Connect, then FIN at once (maybe before the server even accepted). */
  | 'close-now'
  /** Connect, then RST at once. */
  | 'reset-now'
  /** Echo a frame, then FIN. */
  | 'close'
  /** Echo a frame, then RST. */
  | 'reset'
  /** Echo a frame, then the test calls session.close(). */
  | 'kick'
  /** The handler calls session.close() on a message with id 99. */
  | 'kick-in-handler'
  /** session.close() while the session is still in its handshake. */
  | 'kick-in-handshake'

const ACTIONS: Action[] = ['close-now', 'reset-now', 'close', 'reset', 'kick', 'kick-in-handler', 'kick-in-handshake']

const EXPECTED: Record<Action, CloseReason> = {
  'close-now': 'client-closed',
  'reset-now': 'reset',
  close: 'client-closed',
  reset: 'reset',
  kick: 'kicked',
  'kick-in-handler': 'kicked',
  'kick-in-handshake': 'kicked',
}

it('pairs every onConnect with exactly one onDisconnect under random connect/close/reset/kick churn of 600 sockets', async () => {
  const TOTAL = 600
  const WORKERS = 100
  const seed = 0x5eed
  const r = rng(seed)
  let maxOpen = 0
  const h = await startServer()
  const order: { kind: 'connect' | 'message' | 'disconnect'; id: string }[] = []
  h.onConnect((session) => {
    order.push({ kind: 'connect', id: session.id })
    maxOpen = Math.max(maxOpen, h.server.connectionCount)
  })
  h.onMessage((session, message) => {
    order.push({ kind: 'message', id: session.id })
    if (message.id === 99) session.close('kicked by handler')
    else session.send({ id: message.id, data: Buffer.from(message.data) })
  })
  h.onDisconnect((session) => {
    order.push({ kind: 'disconnect', id: session.id })
  })

  /** What the test did to the connection from each local port. */
  const planned = new Map<number, Action>()
  /** Ports whose session the server certainly accepted (an echo came back, or onConnect was awaited). */
  const accepted = new Set<number>()
  let next = 0

  const runOne = async (action: Action): Promise<void> => {
    const client: Client = await openClient(h.port)
    const port = client.localPort
    planned.set(port, action)
    switch (action) {
      case 'close-now':
        await client.close()
        return
      case 'reset-now':
        client.reset()
        return
      case 'close':
      case 'reset':
      case 'kick': {
        await roundTrip(client, { id: 1, data: Buffer.from(`hello ${port}`) })
        accepted.add(port)
        // Hold the connection a little, so many sessions overlap while others come and go.
        await sleep(r.int(20))
        if (action === 'close') await client.close()
        else if (action === 'reset') client.reset()
        else {
          const session = h.sessionOnPort(port)!
          session.close('kicked by test')
          expect(await within(client.closed, 2_000, 'client sees the kick')).toBe('server-closed')
        }
        return
      }
      case 'kick-in-handler':
        await roundTrip(client, { id: 1, data: Buffer.alloc(0) })
        accepted.add(port)
        client.send({ id: 99, data: Buffer.alloc(0) })
        expect(await within(client.closed, 2_000, 'client sees the kick')).toBe('server-closed')
        return
      case 'kick-in-handshake': {
        const session = await h.sessionFor(port)
        accepted.add(port)
        expect(session.state).toBe('handshake')
        session.close()
        expect(await within(client.closed, 2_000, 'client sees the kick')).toBe('server-closed')
        return
      }
    }
  }

  const worker = async (): Promise<void> => {
    while (next < TOTAL) {
      next++
      await runOne(ACTIONS[r.int(ACTIONS.length)]!)
    }
  }
  await Promise.all(Array.from({ length: WORKERS }, worker))

  await waitFor(() => h.server.connectionCount === 0 && h.disconnects.length === h.connects.length, {
    timeout: 5_000,
    message: `registry ${h.server.connectionCount}, connects ${h.connects.length}, disconnects ${h.disconnects.length}`,
  })
  // Let any late duplicate disconnect show up.
  await new Promise((resolve) => setTimeout(resolve, 20))

  expect(planned.size).toBe(TOTAL)
  expect(maxOpen).toBeGreaterThan(5)
  expect(h.server.connectionCount).toBe(0)
  expect(h.pairingProblems()).toEqual([])
  expect(h.connects.length).toBeGreaterThanOrEqual(accepted.size)
  expect(h.connects.length).toBeLessThanOrEqual(TOTAL)

  // Each session's reason matches what the test did to it. A connection reset before the server
  // accepted it has no peer address any more (getpeername fails), so it cannot be matched to its
  // client by port; those must be resets that the test did right after connecting.
  const wrong: string[] = []
  let unmatched = 0
  for (const session of h.connects) {
    const port = Number(session.remoteAddress.split(':').pop())
    const action = planned.get(port)
    const reason = h.reasonOf(session.id)
    if (action === undefined) {
      unmatched++
      if (reason !== 'reset') wrong.push(`${session.remoteAddress}: no client on that port, reason ${reason}`)
    } else if (reason !== EXPECTED[action]) wrong.push(`${session.remoteAddress} (${action}): ${reason}, expected ${EXPECTED[action]}`)
  }
  expect(wrong).toEqual([])
  expect(unmatched).toBeLessThanOrEqual([...planned.values()].filter((a) => a === 'reset-now').length)
  for (const port of accepted) expect(h.sessionOnPort(port), `session for port ${port}`).toBeDefined()

  // Per session: connect first, disconnect last, exactly once each.
  const seen = new Map<string, string[]>()
  for (const { kind, id } of order) seen.set(id, [...(seen.get(id) ?? []), kind])
  for (const [id, kinds] of seen) {
    expect(kinds[0], id).toBe('connect')
    expect(kinds.at(-1), id).toBe('disconnect')
    expect(kinds.filter((k) => k === 'connect' || k === 'disconnect'), id).toEqual(['connect', 'disconnect'])
  }
  expect(h.errors).toEqual([])
  console.log(`churn: ${TOTAL} sockets, ${h.connects.length} sessions, max ${maxOpen} open, ${unmatched} reset before accept; reasons`, count(h.disconnects.map((d) => d.error.code)))
})

function count(values: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}
