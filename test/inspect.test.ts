import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { SimulatedClock } from 'xstate'
import { connectionMachine } from '../machines/connection.js'
import { type Client, connect, createServer, type Server, type Session } from '../src/index.js'
import { createFileInspector } from '../src/inspect/fileInspector.js'
import type { InspectionRecord } from '../src/inspect/inspectionRecord.js'
import { createRelayInspector, type RelayInspector } from '../src/inspect/relayInspector.js'
import { formatTimeline } from '../src/inspect/timeline.js'
import type { Inspect } from '../src/options.js'
import { toMermaid } from '../src/mermaid.js'
import { waitFor } from './helpers/wait.js'

const INTERVAL = 1_000
const EXPECTED = ['handshake.awaitingFrame', 'active', 'heartbeatMissed', 'active', 'closed']

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Drives one client through handshake → active → heartbeatMissed → active → closed, by real causes. */
async function driveOneSession(inspect: Inspect): Promise<{ session: Session; server: Server }> {
  const clock = new SimulatedClock()
  const server = createServer({ clock, inspect, heartbeat: { interval: INTERVAL, timeout: 10 * INTERVAL } })
  let session: Session | undefined
  server.onConnect((s) => void (session = s))
  server.onMessage((s, message) => void s.send(message))
  const { port } = await server.listen({ port: 0 })
  cleanups.push(() => server.stop())
  const client: Client = await connect({ port, heartbeatInterval: 0 })
  cleanups.push(() => client.close())
  await waitFor(() => session !== undefined)
  client.send({ id: 1, data: Buffer.from('hello') })
  await client.receive()
  expect(session!.state).toBe('active')
  clock.increment(INTERVAL + INTERVAL / 4)
  expect(session!.state).toBe('heartbeatMissed')
  // The client answers the server's probe with a heartbeat: any frame brings the session back.
  await waitFor(() => session!.state === 'active')
  session!.close()
  await client.closed
  return { session: session!, server }
}

/** The distinct consecutive states in a list of state values. */
function transitions(values: unknown[]): string[] {
  const names = values.map((value) => (typeof value === 'string' ? value : Object.entries(value as object).map(([k, v]) => `${k}.${v}`)[0]!))
  return names.filter((name, i) => name !== names[i - 1])
}

async function freePort(): Promise<number> {
  const probe = createNetServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise((resolve) => probe.close(resolve))
  return port
}

describe('inspection through the Stately relay', () => {
  it('streams every state of a session actor, in order, to a WebSocket client of the relay', async () => {
    const port = await freePort()
    const relay: RelayInspector = createRelayInspector({ port })
    cleanups.push(() => relay.stop())
    const received: { type: string; name?: string; sessionId: string; snapshot?: { value: unknown } }[] = []
    const viewer = new WebSocket(`ws://127.0.0.1:${port}`)
    cleanups.push(() => viewer.close())
    await waitFor(() => viewer.readyState === WebSocket.OPEN, { timeout: 5_000, message: 'the inspector relay accepts a viewer' })
    viewer.on('message', (data) => received.push(JSON.parse(String(data))))

    const { session } = await driveOneSession(relay.inspect)
    const actorName = `session:${session.id}`
    await waitFor(() => received.some((event) => event.type === '@xstate.snapshot' && snapshotOf(event) === 'closed'), { timeout: 5_000 })

    const actor = received.find((event) => event.type === '@xstate.actor' && event.name === actorName)
    expect(actor, `an @xstate.actor event named ${actorName}`).toBeDefined()
    const values = received.filter((event) => event.type === '@xstate.snapshot' && event.sessionId === actor!.sessionId).map((event) => event.snapshot!.value)
    expect(transitions(values)).toEqual(EXPECTED)
    // The supervisor and the game-logic actor are on the stream too.
    expect(received.filter((event) => event.type === '@xstate.actor').map((event) => event.name)).toEqual(expect.arrayContaining(['supervisor', 'gameLogic']))
  })
})

function snapshotOf(event: { snapshot?: { value: unknown } }): unknown {
  return event.snapshot?.value
}

describe('inspection to a JSON-lines file', () => {
  it('records the same states, and timeline prints them with the close reason', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'zerostate-')), 'inspect.jsonl')
    const file = createFileInspector(path)
    const { session, server } = await driveOneSession(file.inspect)
    await server.stop()
    await file.close()

    const records = readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as InspectionRecord)
    expect(records.every((record) => typeof record.t === 'number')).toBe(true)
    const values = records.filter((record) => record.actor === `session:${session.id}` && record.kind === 'snapshot').map((record) => record.value)
    expect(transitions(values)).toEqual(EXPECTED)

    const timeline = formatTimeline(readFileSync(path, 'utf8'))
    const lines = timeline.split('\n')
    expect(lines[0]).toMatch(new RegExp(`^session ${session.id} 127\\.0\\.0\\.1:\\d+$`))
    expect(lines.slice(1).map((line) => line.trim().replace(/^\+\d+ ms\s+/, ''))).toEqual([...EXPECTED.slice(0, -1), 'closed (kicked)'])

    // The CLI prints the same.
    const cli = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'timeline', path], { encoding: 'utf8' })
    expect(cli.trim()).toBe(timeline)
  })
})

describe('zerostate machines', () => {
  const run = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'machines', ...args], { encoding: 'utf8' })

  it('prints the definitions as JSON for the Stately editor', () => {
    const machines = JSON.parse(run('--json')) as Record<string, { id: string }>
    expect(Object.keys(machines)).toEqual(['connection', 'supervisor', 'gameLogic'])
    expect(machines.connection).toEqual(JSON.parse(JSON.stringify(connectionMachine.toJSON())))
  })

  it('prints Mermaid diagrams, the connection one as in the README', () => {
    expect(run('--mermaid')).toContain(toMermaid(connectionMachine))
  })
})
