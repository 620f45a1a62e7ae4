/**
 * Model-based tests of the connection statechart. Paths come from @xstate/graph over the machine's
 * own definition; each runs (1) on the pure machine, and (2) for the edge tour,
 * on a real server on 127.0.0.1, over TCP and again over WebSocket (the same bytes in binary
 * messages), where every event has a real cause. Coverage of states and transitions is measured
 * from the inspection stream of each run and must be 100%.
 */
import { describe, expect, it } from 'vitest'
import { type AnyMachineSnapshot, createActor, fromPromise, SimulatedClock } from 'xstate'
import { connectionMachine, type ConnectionInput, type ConnectionState, type VerifyInput } from '../../machines/connection.js'
import type { CloseReason, SessionClosedError, ZerostateError } from '../../src/errors.js'
import type { Message } from '../../src/protocol/message.js'
import { createServer } from '../../src/server.js'
import type { Session } from '../../src/session.js'
import { WEBSOCKET_CLOSE_CODES } from '../../src/transport/closeCodes.js'
import { isResumeControlId, RESUME_CONTROL_IDS, resumeFrame } from '../../src/resume/resumeControl.js'
import { ORDERLY } from '../helpers/expectPeerClosed.js'
import { badFrame, frame } from '../helpers/frames.js'
import { type Peer, TRANSPORTS, type TransportKind } from '../helpers/peer.js'
import { RawPeer } from '../helpers/rawPeer.js'
import { RawWebSocketPeer } from '../helpers/rawWebSocketPeer.js'
import { nextIO, waitFor } from '../helpers/wait.js'
import { ActorLog, showLog } from './actorLog.js'
import { Coverage, transitionKey } from './coverage.js'
import { figuresOf } from './coverageFigures.js'
import { CONFIGS, type Config, isVerifying, type Machine, type Path, purePaths, tcpPaths as stageTcpPaths } from './connectionPaths.js'
import { expectCoverage } from './expectCoverage.js'
import { expectState } from './expectState.js'
import { describeEvent, describePath, type ModelEvent, parseInvoke } from './paths.js'
import { exemptKeys } from './tcpExemptions.js'

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

const HANDSHAKE_TIMEOUT = 5_000

/** The state names the server reports (`session.state`): handshake substates read as `handshake`. */
function flat(snapshot: AnyMachineSnapshot): ConnectionState {
  return typeof snapshot.value === 'string' ? (snapshot.value as ConnectionState) : 'handshake'
}

/** The payload of XState's internal invoke events, which the machine's event type does not list. */
function outputOf(event: object): boolean {
  return (event as { output?: unknown }).output === true
}

function errorOf(event: object): unknown {
  return (event as { error?: unknown }).error
}

// ---------------------------------------------------------------------------------------------
// 1. Pure runs: the machine alone, verify as a promise we settle
// ---------------------------------------------------------------------------------------------

const pureCoverage = new Coverage(connectionMachine)
let purePathsRun = 0

async function replayPure(path: Path, input: ConnectionInput): Promise<void> {
  const where = (i: number) => `${describePath(path)} [step ${i}: ${describeEvent(path.steps[i]!.event)}]`
  const invoked = new Map<string, { resolve: (output: boolean) => void; reject: (error: unknown) => void }>()
  const calls: string[] = []
  const logic = connectionMachine.provide({
    actions: {
      activate: () => void calls.push('activate'),
      probe: () => void calls.push('probe'),
      release: ({ context }) => void calls.push(`release:${context.reason}`),
      detach: () => void calls.push('detach'),
      reattach: () => void calls.push('reattach'),
      handOver: () => void calls.push('handOver'),
    },
    actors: {
      verify: fromPromise<boolean, VerifyInput>(({ self }) => new Promise((resolve, reject) => invoked.set(self.id, { resolve, reject }))),
    },
  })
  const actor = createActor(logic, { input, inspect: pureCoverage.observe })
  actor.start()
  const steps = path.steps
  expectState(actor.getSnapshot(), steps[0]!.state, () => where(0))
  for (let i = 1; i < steps.length; i++) {
    const event = steps[i]!.event
    const invoke = parseInvoke(event.type)
    if (invoke) {
      const promise = invoked.get(invoke.id)
      expect(promise, `${where(i)}: the invoked actor ${invoke.id} runs`).toBeDefined()
      if (invoke.kind === 'done') promise!.resolve(outputOf(event))
      else promise!.reject(errorOf(event))
      await nextIO()
    } else {
      actor.send(event)
    }
    expectState(actor.getSnapshot(), steps[i]!.state, () => where(i))
  }
  // The injected actions ran as the path says: one probe per entry into heartbeatMissed, one
  // activate per arrival in active from the handshake, a detach per entry into detached and a
  // reattach per way out of it into active, one release with the reason (or a hand-over) at the end.
  const states = steps.map((step) => step.state)
  const expected: string[] = []
  for (let i = 0; i < states.length; i++) {
    // Every actor starts in the handshake; with it off, it leaves at once.
    const previous = i > 0 ? flat(states[i - 1]!) : 'handshake'
    const current = flat(states[i]!)
    if (current === 'active' && previous === 'handshake') expected.push('activate')
    if (current === 'heartbeatMissed' && previous !== 'heartbeatMissed') expected.push('probe')
    if (current === 'detached' && previous !== 'detached') expected.push('detach')
    if (current === 'active' && previous === 'detached') expected.push('reattach')
    if (current === 'closed' && previous !== 'closed') expected.push(`release:${(states[i]!.context as { reason: string }).reason}`)
    if (current === 'handedOver' && previous !== 'handedOver') expected.push('handOver')
  }
  expect(calls, `${describePath(path)}: injected actions`).toEqual(expected)
  actor.stop()
  purePathsRun++
}

describe('connection machine: generated paths on the pure machine', () => {
  for (const config of CONFIGS) {
    const paths = purePaths(config)
    it(`${config.name}: ${paths.length} paths (edge tour, simple paths, walks of up to ${config.walkDepth} events)`, async () => {
      for (const path of paths) await replayPure(path, config.input)
    })
  }

  it('covers every state and transition of the definition', () => {
    expectCoverage(pureCoverage, figuresOf('connection').pure, [], purePathsRun)
  })
})

// ---------------------------------------------------------------------------------------------
// 2. Real runs: a server on 127.0.0.1, over TCP and over WebSocket, every event produced by its real cause
// ---------------------------------------------------------------------------------------------

const HEARTBEAT = { interval: 1_000, timeout: 3_000 }
/** The server's sweep period: a quarter of the shortest heartbeat delay (see src/server.ts). */
const SWEEP = Math.max(1, Math.floor(Math.min(HEARTBEAT.interval, HEARTBEAT.timeout - HEARTBEAT.interval) / 4))
/** Frames per second before `rate-limited`; a path sends far fewer, a flood far more. */
const RATE = 8
const MAX_BUFFERED = 256
/** How long a detached session waits, with resume on. */
const GRACE = 2_000

/** Each transport's run: its own coverage, measured apart, and the paths it replayed. */
const runs: Record<TransportKind, { coverage: Coverage; pathsRun: number }> = {
  tcp: { coverage: new Coverage(connectionMachine), pathsRun: 0 },
  websocket: { coverage: new Coverage(connectionMachine), pathsRun: 0 },
}
const { paths: tcpPaths, skipped } = stageTcpPaths()

/** How the verify hook answers, written into the credential: the path's next step decides. */
function verdict(next: ModelEvent<Machine> | undefined): string {
  const invoke = next ? parseInvoke(next.type) : undefined
  if (invoke?.kind === 'error') return 'throw'
  if (invoke?.kind === 'done') return outputOf(next!) ? 'accept' : 'reject'
  return 'hold' // something else happens while verify is still running
}

function verifyHook(_session: Session, message: Message): boolean | Promise<boolean> {
  const word = Buffer.from(message.data).toString()
  if (word === 'accept') return true
  if (word === 'reject') return false
  if (word === 'throw') throw new Error('model: verify threw')
  return new Promise<boolean>(() => {}) // hold: never settles
}


const { TOKEN, RESUMED, GOODBYE } = RESUME_CONTROL_IDS

/** Frames that count toward a resume: all but heartbeats and resume control frames. */
function countedFrames(peer: Peer): number {
  return peer.frames.filter((f) => f.id !== 0 && !isResumeControlId(f.id)).length
}

/** The last resume token the peer received. */
function lastToken(peer: Peer): Uint8Array | undefined {
  return peer.frames.filter((f) => f.id === TOKEN).at(-1)?.data
}

function resumeBytes(token: Uint8Array, received: number): Buffer {
  const message = resumeFrame(token, received)
  return frame(message.id, message.data)
}

/** Replays one path on a real server; its peer comes in over `transport`. */
async function replayReal(transport: TransportKind, config: Config, path: Path): Promise<void> {
  const run = runs[transport]
  const steps = path.steps
  const clock = new SimulatedClock()
  const log = new ActorLog()
  const errors: ZerostateError[] = []
  const connects: Session[] = []
  const disconnects: { session: Session; error: SessionClosedError }[] = []
  const server = createServer({
    clock,
    heartbeat: HEARTBEAT,
    handshake: config.input.handshake,
    handshakeTimeout: HANDSHAKE_TIMEOUT,
    verify: config.input.verify ? verifyHook : undefined,
    maxBufferedBytes: MAX_BUFFERED,
    maxMessagesPerSecond: RATE,
    resume: config.input.resume ? { grace: GRACE } : undefined,
    inspect: (event) => {
      log.observe(event)
      run.coverage.observe(event)
    },
  })
  server.onConnect((session) => void connects.push(session))
  server.onDisconnect((session, error) => void disconnects.push({ session, error }))
  server.onError((error) => void errors.push(error))
  let stopping: Promise<void> | null = null
  const peers: Peer[] = []
  try {
    const address = await server.listen({ host: '127.0.0.1', port: 0, webSocket: transport === 'websocket' ? { port: 0 } : false })
    const openPeer = async (): Promise<Peer> => {
      const opened = transport === 'tcp' ? await RawPeer.open(address.port) : await RawWebSocketPeer.open(address.webSocket!.url)
      peers.push(opened)
      return opened
    }
    const acceptedAt = clock.now()
    /** The peer whose connection carries the session: a resume moves it to a new one. */
    let client = await openPeer()
    // With resume the game hears of a session only at its first frame: find it by its actor.
    await waitFor(() => log.ids().some((id) => id.startsWith('session:')), { message: 'a session actor for the peer' })
    const session = server.session(log.ids().find((id) => id.startsWith('session:'))!.slice('session:'.length))!
    if (!config.input.resume) await waitFor(() => connects[0] === session, { message: 'onConnect for the peer' })
    const records = () => log.of(`session:${session.id}`)
    const where = (i: number) => `${config.name}: ${describePath(path)} [step ${i}: ${describeEvent(steps[i]!.event)}]\nactor log:\n${showLog(records())}`

    /** The server's actor took step i: same event, same state, same close reason. */
    const expectStep = async (i: number) => {
      await waitFor(() => records().length > i, { message: () => `the session actor never took ${where(i)}` })
      const record = records()[i]!
      const expected = steps[i]!.state
      expect(record.event.type, where(i)).toBe(steps[i]!.event.type)
      expect({ value: record.snapshot.value, reason: record.snapshot.context.reason }, where(i)).toEqual({
        value: expected.value,
        reason: (expected.context as { reason: unknown }).reason,
      })
    }

    /** Advances the clock one sweep period at a time, letting I/O settle, until `done`. */
    const sweepUntil = async (done: () => boolean, limit: number, what: string) => {
      for (let n = 0; n < limit && !done(); n++) {
        clock.increment(SWEEP)
        await nextIO()
      }
      expect(done(), `${what} within ${limit} sweeps`).toBe(true)
    }

    /** Produces step i by its real cause; returns how many steps that cause produced. */
    const cause = async (i: number): Promise<number> => {
      const from = steps[i - 1]!.state
      const event = steps[i]!.event
      const next = steps[i + 1]?.event
      // XState's internal events (delays, invokes) are not in the machine's event type.
      const type: string = event.type
      /** A new connection presents the session's token, and says it received `received` frames. */
      const resumeOnNewPeer = async (received: (carrier: Peer) => number): Promise<void> => {
        const carrier = client
        await waitFor(() => lastToken(carrier) !== undefined, { message: 'the session has a token' })
        client = await openPeer()
        await client.write(resumeBytes(lastToken(carrier)!, received(carrier)))
      }
      switch (event.type) {
        case 'frame.received': {
          if (!isVerifying(steps[i]!.state)) {
            await client.write(frame(1, 'hello'))
            // Activated with resume on, the session sends its token: a later step may need it.
            if (config.input.resume && flat(from) === 'handshake') await waitFor(() => lastToken(client) !== undefined, { message: 'a TOKEN' })
            return 1
          }
          const credential = frame(1, verdict(next))
          // Reading stops while verify runs: a bad frame has to come in the same read.
          if (next !== undefined && next.type === 'frame.invalid') {
            await client.write(Buffer.concat([credential, badFrame(next.reason)]))
            return 2
          }
          await client.write(credential)
          // A verdict the credential asks for follows by itself.
          return next !== undefined && parseInvoke(next.type) ? 2 : 1
        }
        case 'frame.invalid':
          await client.write(badFrame(event.reason))
          return 1
        case 'socket.closed':
          // A FIN over TCP, a close frame over WebSocket; an RST over either. Heard while verify
          // runs too: waiting for verify, a WebSocket goes on reading and holds what arrives.
          if (event.reason === 'reset') client.reset()
          else client.end()
          return 1
        case 'outbound.overflow':
          expect(server.unicast(session.id, { id: 7, data: Buffer.alloc(1024, 7) }), 'unicast past maxBufferedBytes').toBe(false)
          return 1
        case 'rate.exceeded':
          await client.write(Buffer.concat(Array.from({ length: RATE * 2 + 1 }, () => frame(2, 'flood'))))
          return 1
        case 'session.kick':
          session.close('model test')
          return 1
        case 'server.stop':
          stopping = server.stop()
          return 1
        case 'handshake.timeout':
          // Nothing one ms before the deadline; the sweep's first tick at or past it closes.
          clock.increment(acceptedAt + HANDSHAKE_TIMEOUT - 1 - clock.now())
          await nextIO()
          expect(session.state, `${where(i)}, 1 ms before the deadline`).toBe('handshake')
          await sweepUntil(() => session.state === 'closed', 2, 'handshake-timeout')
          return 1
        case 'heartbeat.missed':
          await sweepUntil(() => session.state !== 'active', HEARTBEAT.interval / SWEEP + 2, 'heartbeatMissed')
          return 1
        case 'heartbeat.timeout':
          // From active in one jump (one sweep sees the whole silence); from heartbeatMissed by sweeps.
          if (flat(from) === 'active') clock.increment(HEARTBEAT.timeout)
          else await sweepUntil(() => session.state !== 'heartbeatMissed', HEARTBEAT.timeout / SWEEP + 2, 'heartbeat-timeout')
          return 1
        case 'session.resumed': {
          // From detached, or a takeover while the old connection still looks alive.
          await resumeOnNewPeer(countedFrames)
          const resumed = client
          await waitFor(() => resumed.frames.some((f) => f.id === RESUMED) && lastToken(resumed) !== undefined, { message: 'RESUMED and a new token' })
          return 1
        }
        case 'replay.unavailable':
          // A count past what the server sent: no replay can make that up.
          await resumeOnNewPeer((carrier) => countedFrames(carrier) + 1)
          return 1
        case 'resume.expired':
          await sweepUntil(() => session.state === 'closed', GRACE / SWEEP + 2, 'resume-expired')
          return 1
        case 'resume.refused':
          await client.write(resumeBytes(Buffer.alloc(16, 0xab), 0))
          return 1
        case 'resume.handedOver': {
          // Another session, whose token this connection presents.
          const other = await openPeer()
          await other.write(frame(1, 'hello'))
          await waitFor(() => lastToken(other) !== undefined, { message: "the other session's token" })
          await client.write(resumeBytes(lastToken(other)!, countedFrames(other)))
          return 1
        }
        case 'peer.goodbye':
          await client.write(frame(GOODBYE))
          return 1
      }
      throw new Error(`no real cause for ${type} over ${transport}: add one to the model test`)
    }

    await expectStep(0)
    expect(session.state).toBe(flat(steps[0]!.state))
    for (let i = 1; i < steps.length; ) {
      const produced = await cause(i)
      for (let j = i; j < i + produced; j++) await expectStep(j)
      i += produced
      const expected = flat(steps[i - 1]!.state)
      await waitFor(() => session.state === expected, { message: () => `session.state ${session.state}, expected ${expected}: ${where(i - 1)}` })
    }

    // Nothing else happened to the session: the server sent its actor exactly the path's events.
    for (let n = 0; n < 5; n++) await nextIO()
    expect(records().length, `extra events for the session actor:\n${showLog(records())}`).toBe(steps.length)

    const final = path.state
    const visitedMissed = steps.some((step) => flat(step.state) === 'heartbeatMissed')
    // With resume the game hears of a session at its first frame: one that resumed another, or
    // never sent one, is never a session to it.
    const announced = !config.input.resume || steps.some((step) => step.event.type === 'frame.received')
    /** Closed while detached: no connection was left to tell. */
    const closedDetached = steps.length > 1 && flat(steps[steps.length - 2]!.state) === 'detached'
    if (flat(final) === 'closed') {
      const reason = (final.context as { reason: CloseReason }).reason
      if (announced) {
        await waitFor(() => disconnects.length === 1, { message: () => 'onDisconnect' })
        expect(disconnects[0]!.error.code, 'the reason onDisconnect received').toBe(reason)
        expect(disconnects[0]!.session).toBe(session)
      }
      await waitFor(() => client.closed, { message: () => `the peer sees the connection closed (${reason})` })
      const byPeer = reason === 'client-closed' || reason === 'reset'
      if (closedDetached || steps.at(-1)!.event.type === 'peer.goodbye') {
        // Lost before the session ended, or said goodbye and was let go: nothing more to tell it.
      } else if (client instanceof RawPeer) {
        if (ORDERLY.has(reason)) expect(client.ending, `${reason}: the server ends with a FIN`).toBe('server-fin')
        if (byPeer) expect(client.ending).toBe('client')
      } else if (client instanceof RawWebSocketPeer) {
        // Every close the server decides is a close frame with the reason's code and name.
        if (byPeer) expect(client.ending).toBe('client')
        else expect(client.closeFrame, `${reason}: the close frame`).toEqual({ code: WEBSOCKET_CLOSE_CODES[reason], reason })
      }
    } else {
      expect(disconnects, 'no onDisconnect for an open session').toEqual([])
      // Detached, the peer is gone; any other open session's peer is still connected.
      expect(client.closed, 'the peer is connected unless the session is detached').toBe(flat(final) === 'detached')
    }
    const frames = peers.flatMap((p) => p.frames)
    await waitFor(() => !visitedMissed || peers.some((p) => p.frames.some((f) => f.id === 0)), { message: () => 'a heartbeat probe reached the peer' })
    const heartbeats = frames.filter((f) => f.id === 0)
    if (visitedMissed) expect(heartbeats.length, 'heartbeat probes (12-byte frames, id 0)').toBeGreaterThan(0)
    for (const heartbeat of heartbeats) expect(heartbeat.data.length).toBe(0)
    expect(
      frames.some((f) => f.data.length === 1024),
      'the message that overflowed was never written',
    ).toBe(false)
    expect(errors, 'no handler errors').toEqual([])
    for (const p of peers) expect(p.wellFormed, 'every byte the server sent is a well-formed frame with a right checksum').toBe(true)
    run.pathsRun++
  } finally {
    for (const p of peers) p.destroy()
    await (stopping ?? server.stop())
  }
}

describe.each(TRANSPORTS)('connection machine: the edge tour over %s, every event from its real cause', (transport) => {
  for (const { config, path } of tcpPaths) {
    it(`${config.name}: ${describePath(path)}`, async () => {
      await replayReal(transport, config, path)
    })
  }

  it('covers every state and transition of the definition on the real server', () => {
    const note = skipped.length > 0 ? `edges not producible on a real server (by design), not staged:\n    ${skipped.join('\n    ')}` : ''
    const figures = figuresOf('connection')
    const expected = transport === 'tcp' ? figures.tcp : figures.websocket!
    expectCoverage(runs[transport].coverage, expected, exemptKeys('connection'), runs[transport].pathsRun, note)
  })
})

describe('connection machine: the model tests themselves', () => {

  it('the skipped edge really cannot be produced: a flood sent while verify runs goes unread', async () => {
    const clock = new SimulatedClock()
    const log = new ActorLog()
    const connects: Session[] = []
    const disconnects: CloseReason[] = []
    const server = createServer({ clock, heartbeat: HEARTBEAT, handshakeTimeout: HANDSHAKE_TIMEOUT, verify: verifyHook, maxMessagesPerSecond: RATE, inspect: log.observe })
    server.onConnect((session) => void connects.push(session))
    server.onDisconnect((_, error) => void disconnects.push(error.code))
    const { port } = await server.listen({ port: 0 })
    const peer = await RawPeer.open(port)
    try {
      await waitFor(() => connects.length === 1, { message: () => 'a session' })
      const records = () => log.of(`session:${connects[0]!.id}`)
      await peer.write(frame(1, 'hold'))
      await waitFor(() => records().length === 2, { message: () => 'verifying' })
      await peer.write(Buffer.concat(Array.from({ length: RATE * 4 }, () => frame(2, 'flood'))))
      for (let n = 0; n < 20; n++) await nextIO()
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(connects[0]!.state).toBe('handshake')
      expect(records().length, `no event after the credential:\n${showLog(records())}`).toBe(2)
      // It ends at the handshake deadline, not as rate-limited.
      clock.increment(HANDSHAKE_TIMEOUT)
      await waitFor(() => disconnects.length === 1, { message: () => 'closed' })
      expect(disconnects).toEqual(['handshake-timeout'])
    } finally {
      peer.destroy()
      await server.stop()
    }
  })

  it('coverage notices what a run did not take, so an untested transition fails the suite', () => {
    const coverage = new Coverage(connectionMachine)
    const actor = createActor(connectionMachine, { input: { sessionId: 's', handshake: false }, inspect: coverage.observe })
    actor.start()
    actor.send({ type: 'session.kick' })
    const { states, transitions } = coverage.report()
    expect(states.covered).toBe(4) // connection, handshake, active, closed
    expect(states.missing).toContain('connection.heartbeatMissed')
    expect(transitions.covered).toBe(2) // handshake --always#0, connection --session.kick#0
    expect(transitions.missing).toContain('connection.active --heartbeat.missed#0')
    expect(coverage.complete).toBe(false)
  })

  it('enumerates transitions the same way on the provided machines the server runs', () => {
    // Keys, not identities: provide() copies every transition object.
    const provided = connectionMachine.provide({})
    expect(new Coverage(provided).transitionKeys).toEqual(new Coverage(connectionMachine).transitionKeys)
    expect(transitionKey(provided.root.transitions.get('session.kick')![0]!)).toBe('connection --session.kick#0')
  })
})
