/**
 * Per-session limits: `maxMessagesPerSecond` closes a flooding client with `rate-limited` while a
 * polite one goes on (time from a SimulatedClock), and `maxBufferedBytes` closes a client that
 * never reads with `slow-consumer` while broadcast keeps returning at once and the other sessions
 * get every message.
 */
import { afterEach, expect, it } from 'vitest'
import { SimulatedClock } from 'xstate'
import type { Client } from '../../src/index.js'
import { encode } from '../../stress/wire.js'
import { cleanup, openClient, startServer } from '../helpers/harness.js'
import { RawPeer } from '../helpers/rawPeer.js'
import { nextIO, until } from '../helpers/wait.js'

afterEach(cleanup)

it('closes a client sending 1,000 messages at once with rate-limited while a polite client at half the rate is never closed', async () => {
  const clock = new SimulatedClock()
  const RATE = 100
  const t = await startServer({ clock, maxMessagesPerSecond: RATE })
  const polite = await openClient(t.port)
  const flooder = await openClient(t.port)
  let politeAnswers = 0
  polite.onMessage(() => politeAnswers++)
  const politePort = polite.localPort
  const flooderPort = flooder.localPort

  const politeSecond = async (round: number): Promise<void> => {
    for (let i = 0; i < RATE / 2; i++) polite.send({ id: 1, data: Buffer.from([round, i]) })
    expect(await until(() => politeAnswers === (round + 1) * (RATE / 2), 2_000), `polite answers in round ${round}`).toBe(true)
    clock.increment(1_000)
  }

  await politeSecond(0)
  for (let i = 0; i < 1_000; i++) flooder.send({ id: 1, data: Buffer.from([i & 0xff]) })
  expect(await t.ledger.claim(flooderPort, 2_000)).toBe('rate-limited')
  expect(await until(() => flooder.closeReason !== null, 2_000)).toBe(true)
  for (let round = 1; round < 6; round++) await politeSecond(round)

  expect(polite.closeReason).toBeNull()
  expect(t.ledger.hasOpenSessionOn(politePort)).toBe(true)
  await polite.close()
  expect(await t.ledger.claim(politePort, 2_000)).toBe('client-closed')
})

it('closes a client that never reads with slow-consumer once maxBufferedBytes is queued; broadcast never blocks and the others get every message', async () => {
  const MAX_BUFFERED = 256 * 1024
  const t = await startServer({ maxBufferedBytes: MAX_BUFFERED })
  let hellos = 0
  t.onMessage((session, message) => {
    hellos++
    session.send(message)
  })
  const readers: Client[] = []
  const received: number[][] = []
  for (let i = 0; i < 3; i++) {
    const client = await openClient(t.port)
    // A first round trip makes the session active, so that broadcasts reach it.
    client.send({ id: 1, data: Buffer.from('hi') })
    await client.receive()
    const got: number[] = []
    client.onMessage((message) => got.push(Buffer.from(message.data).readUInt32LE(0)))
    readers.push(client)
    received.push(got)
  }
  const slow = await RawPeer.open(t.port)
  await slow.write(encode(1, Buffer.from('hi')))
  // It reads nothing from now on: its socket is paused, so the kernel's buffers fill and stay full.
  slow.socket.pause()
  const slowPort = slow.localPort
  // Its first frame made it active (broadcasts reach it) once the handler has seen it.
  expect(await until(() => hellos === 4, 2_000)).toBe(true)
  expect(t.server.connectionCount).toBe(4)

  const data = Buffer.alloc(32 * 1024)
  let sent = 0
  const reached: number[] = []
  const deadline = performance.now() + 20_000
  while (t.ledger.disconnects === 0 && sent < 4_000 && performance.now() < deadline) {
    data.writeUInt32LE(sent, 0)
    reached.push(t.server.broadcast({ id: 2, data }))
    sent++
    // The readers keep up: one broadcast per I/O turn.
    await nextIO()
  }
  // Nobody waited on the slow one (no timing bound: a loaded machine can break any): by the time
  // it was closed, each reader had already received more broadcasts than its whole budget holds.
  const receivedAtClose = Math.min(...received.map((got) => got.length))
  expect(await t.ledger.claim(slowPort, 2_000)).toBe('slow-consumer')
  // A few more broadcasts after the close reach the three readers only.
  for (let i = 0; i < 10; i++) {
    data.writeUInt32LE(sent++, 0)
    reached.push(t.server.broadcast({ id: 2, data }))
    await nextIO()
  }
  console.log(`slow-consumer after ${sent - 10} broadcasts of 32 KiB; each reader had ${receivedAtClose} or more by then`)
  expect(reached[0]).toBe(4)
  expect(reached.at(-1)).toBe(3)
  expect(receivedAtClose).toBeGreaterThan(MAX_BUFFERED / data.length)
  expect(await until(() => received.every((got) => got.length === sent), 10_000), 'readers got every broadcast').toBe(true)
  for (const got of received) expect(got).toEqual(Array.from({ length: sent }, (_, i) => i))
  expect(readers.every((client) => client.closeReason === null)).toBe(true)
  expect(t.server.connectionCount).toBe(3)
  expect(t.ledger.reasons).toEqual({ 'slow-consumer': 1 })
}, 60_000)
