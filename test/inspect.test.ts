import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { connect as netConnect, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type InspectionEvent, SimulatedClock } from 'xstate'
import { Writable } from 'node:stream'
import { connectionMachine } from '../machines/connection.js'
import { type Client, connect, createServer, type Server, type Session } from '../src/index.js'
import { fileInspectorOn, openFileInspector } from '../src/inspect/fileInspector.js'
import { startInspectorRelay } from '../src/inspect/inspectorRelay.js'
import type { InspectionRecord } from '../src/inspect/inspectionRecord.js'
import { type RelayInspector, startRelayInspector } from '../src/inspect/relayInspector.js'
import { importStatelyInspect, type StatelyInspect } from '../src/inspect/statelyInspect.js'
import { withoutPayloads } from '../src/inspect/withoutPayloads.js'
import { formatTimeline } from '../src/inspect/timeline.js'
import { ROOM_CONTROL_IDS } from '../src/rooms/roomControl.js'
import { ticTacToeRoom } from '../examples/tic-tac-toe/ticTacToeRoom.js'
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

async function stately(): Promise<StatelyInspect> {
  const module = await importStatelyInspect()
  if (module === null) throw new Error('@statelyai/inspect is a devDependency and must be installed for these tests')
  return module
}

describe('inspection through the Stately relay', () => {
  it('streams every state of a session actor, in order, to a WebSocket client of the relay', async () => {
    const relay: RelayInspector = await startRelayInspector({ host: '127.0.0.1', port: 0 }, await stately())
    cleanups.push(() => relay.stop())
    const port = relay.relay!.port
    expect(port).toBeGreaterThan(0)
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

describe('a cluster\'s nodes feeding one Stately relay', () => {
  it('every actor of a node carries its id: names and ids start with <node>/, so two nodes\' actors stay apart', async () => {
    const relay = await startRelayInspector({ host: '127.0.0.1', port: 0 }, await stately(), { node: 'a' })
    const b = await startRelayInspector({ url: relay.url }, await stately(), { node: 'b' })
    cleanups.push(() => b.stop(), () => relay.stop())
    const received: { type: string; name?: string; sessionId: string; parentId?: string; snapshot?: { value: unknown } }[] = []
    const viewer = new WebSocket(`ws://127.0.0.1:${relay.relay!.port}`)
    cleanups.push(() => viewer.close())
    await waitFor(() => viewer.readyState === WebSocket.OPEN, { timeout: 5_000 })
    viewer.on('message', (data) => received.push(JSON.parse(String(data))))
    const [{ session: onA }, { session: onB }] = await Promise.all([driveOneSession(relay.inspect), driveOneSession(b.inspect)])
    await waitFor(() => received.filter((event) => event.type === '@xstate.snapshot' && snapshotOf(event) === 'closed').length >= 2, { timeout: 5_000 })
    const actors = received.filter((event) => event.type === '@xstate.actor')
    expect(actors.map((event) => event.name)).toEqual(expect.arrayContaining(['a/supervisor', 'b/supervisor', 'a/gameLogic', 'b/gameLogic', `a/session:${onA.id}`, `b/session:${onB.id}`]))
    for (const event of received) expect(event.sessionId).toMatch(/^[ab]\//)
    const sessionOnB = actors.find((event) => event.name === `b/session:${onB.id}`)!
    expect(sessionOnB.parentId).toMatch(/^b\//)
  })
})

function snapshotOf(event: { snapshot?: { value: unknown } }): unknown {
  return event.snapshot?.value
}

describe('inspection to a JSON-lines file', () => {
  it('records the same states, and timeline prints them with the close reason', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'zerostate-')), 'inspect.jsonl')
    const file = await openFileInspector(path)
    const { session, server } = await driveOneSession(file.inspect)
    await server.stop()
    await file.close()

    const records = readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as InspectionRecord)
    expect(records.every((record) => typeof record.t === 'number')).toBe(true)
    const values = records.filter((record) => record.actor === `session:${session.id}` && record.kind === 'snapshot').map((record) => record.value)
    expect(transitions(values)).toEqual(EXPECTED)

    const timeline = formatTimeline(readFileSync(path, 'utf8'))
    const lines = timeline.split('\n')
    expect(lines[0]).toMatch(new RegExp(`^session ${session.id} tcp 127\\.0\\.0\\.1:\\d+$`))
    expect(lines.slice(1).map((line) => line.trim().replace(/^\+\d+ ms\s+/, ''))).toEqual([...EXPECTED.slice(0, -1), 'closed (kicked)'])

    // The CLI prints the same.
    const cli = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'timeline', path], { encoding: 'utf8' })
    expect(cli.trim()).toBe(timeline)
  })
})

describe('rooms in the inspection stream', () => {
  it('a room is actor room:<name>:<id>; timeline shows its states and who joined and left', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'zerostate-')), 'rooms.jsonl')
    const file = await openFileInspector(path)
    const server = createServer({ inspect: file.inspect })
    server.room('tictactoe', { machine: ticTacToeRoom, maxPlayers: 2 })
    const { port } = await server.listen({ port: 0 })
    const x = await connect({ port, heartbeatInterval: 0 })
    const o = await connect({ port, heartbeatInterval: 0 })
    const joinFrame = { id: ROOM_CONTROL_IDS.JOIN, data: new TextEncoder().encode(JSON.stringify({ name: 'tictactoe' })) }
    x.send(joinFrame)
    o.send(joinFrame)
    await waitFor(() => server.rooms.list()[0]?.state === 'playing')
    const [room] = server.rooms.list()
    await x.close()
    await waitFor(() => server.rooms.list().length === 0)
    await o.close()
    await server.stop()
    await file.close()
    const timeline = formatTimeline(readFileSync(path, 'utf8')).split('\n')
    const at = timeline.indexOf(`room tictactoe:${room!.id}`)
    expect(at, timeline.join('\n')).toBeGreaterThanOrEqual(0)
    const [xId, oId] = room!.players
    expect(timeline.slice(at + 1, at + 6).map((line) => line.trim().replace(/^\+\d+ ms\s+/, ''))).toEqual([
      'waiting',
      `joined ${xId}`,
      `joined ${oId}`,
      'playing',
      `left ${xId} (client-closed)`,
    ])
  })
})

describe('zerostate machines', () => {
  const run = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'machines', ...args], { encoding: 'utf8' })

  it('prints the definitions as JSON for the Stately editor', () => {
    const machines = JSON.parse(run('--json')) as Record<string, { id: string }>
    expect(Object.keys(machines)).toEqual(['connection', 'supervisor', 'gameLogic', 'seat', 'clusterNode'])
    expect(machines.connection).toEqual(JSON.parse(JSON.stringify(connectionMachine.toJSON())))
  })

  it('prints Mermaid diagrams, the connection one as in the README', () => {
    expect(run('--mermaid')).toContain(toMermaid(connectionMachine))
  })
})

describe('the relay server', () => {
  it('binds to the host it is given, and only there', async () => {
    const relay = await startInspectorRelay({ host: '127.0.0.2', port: 0 })
    cleanups.push(() => relay.close())
    expect(relay.host).toBe('127.0.0.2')
    expect(relay.pageUrl).toBe(`http://127.0.0.2:${relay.port}`)
    expect(await reachable('127.0.0.2', relay.port)).toBe(true)
    // Another address of this machine: a relay on every interface would answer here too.
    expect(await reachable('127.0.0.1', relay.port)).toBe(false)
  })

  it('rejects with the bind error when the port is taken, and nothing is left unhandled', async () => {
    const port = await freePort()
    const holder = createNetServer()
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => holder.close(resolve)))
    await expect(startInspectorRelay({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'EADDRINUSE' })
  })

  it('passes messages from each client to the others, replays them to late ones, and refuses other web origins', async () => {
    const relay = await startInspectorRelay({ host: '127.0.0.1', port: 0 })
    cleanups.push(() => relay.close())
    const feeder = await open(relay.feedUrl)
    const viewer = await open(relay.feedUrl, { origin: `http://127.0.0.1:${relay.port}` })
    const seen: string[] = []
    viewer.on('message', (data) => seen.push(String(data)))
    feeder.send('{"n":1}')
    await waitFor(() => seen.length === 1)
    const late = new WebSocket(relay.feedUrl)
    const replayed: string[] = []
    late.on('message', (data) => replayed.push(String(data)))
    cleanups.push(() => late.close())
    await waitFor(() => replayed.length === 1)
    expect(replayed).toEqual(['{"n":1}'])
    // A page elsewhere in the browser may not read the sessions.
    await expect(open(relay.feedUrl, { origin: 'https://evil.example' })).rejects.toThrow(/403/)
  })

  async function open(url: string, options?: { origin: string }): Promise<WebSocket> {
    const socket = new WebSocket(url, options)
    cleanups.push(() => socket.close())
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
    return socket
  }

  function reachable(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = netConnect({ host, port })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
  }
})

describe('an inspection file that fails', () => {
  it('rejects at open when the file cannot be opened', async () => {
    await expect(openFileInspector('/nonexistent/dir/x.jsonl')).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('reports a write error once, stops writing, and never throws into the server', async () => {
    let writes = 0
    const failing = new Writable({
      write(_chunk, _encoding, callback) {
        writes++
        callback(new Error('disk on fire'))
      },
    })
    const errors: Error[] = []
    const file = fileInspectorOn(failing, { onError: (error) => errors.push(error) })
    const { server } = await driveOneSession(file.inspect)
    await server.stop()
    await waitFor(() => errors.length > 0)
    expect(errors.map((error) => error.message)).toEqual(['disk on fire'])
    expect(writes).toBe(1)
    await file.close()
  })
})

describe('payload bytes and inspectors', () => {
  const CREDENTIAL = 'secret-token-4f7a9c'

  /** One session with `verify`: its first frame is the credential; then one message is echoed. */
  async function verifiedSession(options: { inspectPayloads?: boolean }) {
    const events: InspectionEvent[] = []
    const verified: string[] = []
    const server = createServer({
      ...options,
      inspect: (event) => events.push(event),
      verify: (_session, message) => {
        verified.push(Buffer.from(message.data).toString())
        return true
      },
    })
    server.onMessage((session, message) => void session.send(message))
    const { port } = await server.listen({ port: 0 })
    cleanups.push(() => server.stop())
    const client = await connect({ port, heartbeatInterval: 0 })
    cleanups.push(() => client.close())
    client.send({ id: 1, data: Buffer.from(CREDENTIAL) })
    client.send({ id: 2, data: Buffer.from('hello') })
    expect(Buffer.from((await client.receive()).data).toString()).toBe('hello')
    await client.close()
    await server.stop()
    return { events, verified }
  }

  it('by default no payload bytes reach the inspector: the credential arrives as its length', async () => {
    const { events, verified } = await verifiedSession({})
    // The actors themselves got the real bytes: verify saw the credential.
    expect(verified).toEqual([CREDENTIAL])
    const reached = reachable(events)
    expect(reached.bytes.filter((bytes) => Buffer.from(bytes).toString().includes(CREDENTIAL))).toEqual([])
    expect(reached.bytes).toEqual([])
    expect(reached.summaries).toContainEqual({ bytes: CREDENTIAL.length })
    // The frame.received event and the verify invoke's input are among them.
    const frameEvent = events.find((event) => event.type === '@xstate.event' && event.event.type === 'frame.received')
    expect(frameEvent && (frameEvent as unknown as { event: { frame: unknown } }).event.frame).toEqual({ id: 1, data: { bytes: CREDENTIAL.length } })
  })

  it('with inspectPayloads the inspector sees the bytes, credential included', async () => {
    const { events } = await verifiedSession({ inspectPayloads: true })
    expect(reachable(events).bytes.some((bytes) => Buffer.from(bytes).toString() === CREDENTIAL)).toBe(true)
  })

  it('changes nothing XState passes: the inspector gets copies', () => {
    const data = Buffer.from(CREDENTIAL)
    const event = { type: 'frame.received', frame: { id: 1, data } }
    const seen: InspectionEvent[] = []
    const inspection = { type: '@xstate.event', event, sourceRef: undefined, actorRef: { sessionId: 'x', getSnapshot: () => ({ context: { data } }) }, rootId: 'x' }
    withoutPayloads((e) => seen.push(e)).next!(inspection as unknown as InspectionEvent)
    expect(event.frame.data).toBe(data)
    const copy = seen[0] as unknown as typeof inspection
    expect(copy.event.frame).toEqual({ id: 1, data: { bytes: data.length } })
    expect(copy.actorRef.getSnapshot()).toEqual({ context: { data: { bytes: data.length } } })
    expect(copy.actorRef.sessionId).toBe('x')
  })

  it('passes a microstep\'s transitions as the machine\'s own definitions, so they can be found in it', async () => {
    const { events } = await verifiedSession({})
    const microsteps = events.filter((event) => event.type === '@xstate.microstep' && event._transitions.length > 0)
    expect(microsteps.length).toBeGreaterThan(0)
    for (const event of microsteps as Extract<InspectionEvent, { type: '@xstate.microstep' }>[]) {
      for (const transition of event._transitions) {
        const declared = transition.eventType === '' ? transition.source.always : transition.source.transitions.get(transition.eventType)
        expect(declared).toContain(transition)
      }
    }
  })

  /**
   * Every Uint8Array an inspector could reach from the events: through plain objects and arrays,
   * and through each actor's `getSnapshot()` and `options` (where an invoked actor's input is).
   */
  function reachable(events: readonly InspectionEvent[]): { bytes: Uint8Array[]; summaries: unknown[] } {
    const bytes: Uint8Array[] = []
    const summaries: unknown[] = []
    const seen = new Set<object>()
    const visit = (value: unknown, depth: number): void => {
      if (typeof value !== 'object' || value === null || seen.has(value) || depth > 12) return
      seen.add(value)
      if (value instanceof Uint8Array) {
        bytes.push(value)
        return
      }
      const record = value as Record<string, unknown>
      if (Object.keys(record).length === 1 && typeof record.bytes === 'number') summaries.push(value)
      if (typeof record.getSnapshot === 'function' && typeof record.sessionId === 'string') {
        visit((record.getSnapshot as () => unknown)(), depth + 1)
        visit(record.options, depth + 1)
        return
      }
      const proto: unknown = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null && !Array.isArray(value)) return
      for (const child of Object.values(record)) visit(child, depth + 1)
    }
    for (const event of events) visit(event, 0)
    return { bytes, summaries }
  }
})
