/**
 * Handler faults under load: throwing and rejecting handlers are reported to onError while every
 * other message keeps flowing in order; a handler that never settles is abandoned after
 * `handlerTimeout` (driven by a SimulatedClock) with a `handler-timeout` error, the next message
 * runs, and a late result of an abandoned handler changes nothing.
 */
import { afterEach, expect, it } from 'vitest'
import { SimulatedClock } from 'xstate'
import type { Client, Message } from '../../src/index.js'
import { cleanup, openClient, startServer } from '../helpers/harness.js'
import { nextIO, until } from '../helpers/wait.js'

afterEach(cleanup)

const THROW = 1
const REJECT = 2
const ASYNC_ECHO = 3
const ECHO = 4

function seqOf(message: Message): number {
  return Buffer.from(message.data).readUInt32LE(0)
}

function payload(seq: number): Buffer {
  const data = Buffer.alloc(4)
  data.writeUInt32LE(seq, 0)
  return data
}

it('reports 6,000 throwing and rejecting handler calls from 20 busy clients to onError and answers every other message in order', async () => {
  const CLIENTS = 20
  const PER_CLIENT = 600
  const t = await startServer()
  // Not an async function: THROW must throw synchronously, REJECT and ASYNC_ECHO return promises.
  t.onMessage((session, message) => {
    switch (message.id) {
      case THROW:
        throw new Error(`thrown by ${seqOf(message)}`)
      case REJECT:
        return Promise.resolve().then(() => {
          throw new Error(`rejected by ${seqOf(message)}`)
        })
      case ASYNC_ECHO: {
        const copy = { id: message.id, data: Buffer.from(message.data) }
        return Promise.resolve().then(() => {
          session.send(copy)
        })
      }
      default:
        session.send(message)
        return undefined
    }
  })
  // Every 4th message is synchronous-throwing, every 4th rejecting; ids cycle 1, 2, 3, 4.
  const clients: Client[] = []
  const answers: number[][] = []
  for (let c = 0; c < CLIENTS; c++) {
    const client = await openClient(t.port)
    const got: number[] = []
    client.onMessage((message) => got.push(seqOf(message)))
    clients.push(client)
    answers.push(got)
  }
  for (let seq = 0; seq < PER_CLIENT; seq++) {
    for (const client of clients) client.send({ id: (seq % 4) + 1, data: payload(seq) })
    if (seq % 50 === 49) await nextIO()
  }
  const expectedAnswers = PER_CLIENT / 2
  expect(await until(() => answers.every((got) => got.length === expectedAnswers), 20_000), 'every echo arrived').toBe(true)
  for (const got of answers) {
    expect(got).toEqual(Array.from({ length: PER_CLIENT }, (_, seq) => seq).filter((seq) => seq % 4 >= 2))
  }
  expect(t.errors).toHaveLength(CLIENTS * (PER_CLIENT / 2))
  expect(t.errors.every(({ error, session }) => error.code === 'handler-error' && session !== undefined)).toBe(true)
  const thrown = t.errors.filter(({ error }) => error.message.includes('thrown by')).length
  const rejected = t.errors.filter(({ error }) => error.message.includes('rejected by')).length
  expect({ thrown, rejected }).toEqual({ thrown: CLIENTS * (PER_CLIENT / 4), rejected: CLIENTS * (PER_CLIENT / 4) })
  // Nobody was disconnected by a fault.
  expect(clients.every((client) => client.closeReason === null)).toBe(true)
  expect(t.ledger.disconnects).toBe(0)
}, 60_000)

it('abandons a never-settling handler after handlerTimeout on the injected clock, reports handler-timeout, and runs the next message', async () => {
  const clock = new SimulatedClock()
  const HANDLER_TIMEOUT = 1_000
  const heartbeat = { interval: 5_000, timeout: 30_000 }
  // The server's sweep runs every quarter of the shortest heartbeat delay; the timeout is noticed on a sweep.
  const sweep = Math.floor(Math.min(heartbeat.interval, heartbeat.timeout - heartbeat.interval) / 4)
  const t = await startServer({ clock, heartbeat, handlerTimeout: HANDLER_TIMEOUT })
  const NEVER = 9
  const LATE = 8
  let settleLate: () => void = () => {}
  const ran: number[] = []
  t.onMessage((session, message) => {
    ran.push(message.id)
    if (message.id === NEVER) return new Promise<void>(() => {})
    if (message.id === LATE) {
      return new Promise<void>((resolve) => {
        settleLate = () => {
          session.send({ id: LATE, data: Buffer.from('late') })
          resolve()
        }
      })
    }
    session.send(message)
    return undefined
  })
  const client = await openClient(t.port)
  const other = await openClient(t.port)
  const got: number[] = []
  client.onMessage((message) => got.push(message.id))
  const otherGot: number[] = []
  other.onMessage((message) => otherGot.push(message.id))

  client.send({ id: NEVER, data: payload(0) })
  client.send({ id: ECHO, data: payload(1) })
  other.send({ id: ECHO, data: payload(2) })
  expect(await until(() => ran.includes(NEVER), 2_000)).toBe(true)
  // The game is stuck on the handler: nothing else runs, however long real time passes.
  await new Promise((resolve) => setTimeout(resolve, 30))
  expect(ran).toEqual([NEVER])
  expect(got).toEqual([])

  clock.increment(HANDLER_TIMEOUT + sweep)
  expect(await until(() => got.length === 1 && otherGot.length === 1, 2_000), 'the next messages ran').toBe(true)
  expect(t.errors.map(({ error }) => error.code)).toEqual(['handler-timeout'])
  expect(t.errors[0]!.session).toBeDefined()
  expect(ran).toEqual([NEVER, ECHO, ECHO])

  // A handler that settles after its timeout: abandoned, and its late result is ignored.
  client.send({ id: LATE, data: payload(3) })
  expect(await until(() => ran.at(-1) === LATE, 2_000)).toBe(true)
  clock.increment(HANDLER_TIMEOUT + sweep)
  expect(await until(() => t.errors.length === 2, 2_000)).toBe(true)
  client.send({ id: ECHO, data: payload(4) })
  expect(await until(() => got.length === 2, 2_000)).toBe(true)
  settleLate()
  await nextIO()
  client.send({ id: ECHO, data: payload(5) })
  // The late handler's own send still goes out (the session is open), then the next echo.
  expect(await until(() => got.length === 4, 2_000), `got ${JSON.stringify(got)}`).toBe(true)
  expect(got).toEqual([ECHO, ECHO, LATE, ECHO])
  expect(t.errors.map(({ error }) => error.code)).toEqual(['handler-timeout', 'handler-timeout'])
  expect(client.closeReason).toBeNull()
  expect(t.ledger.disconnects).toBe(0)
}, 30_000)
