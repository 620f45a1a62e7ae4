/**
 * Model-based tests of the supervisor statechart (the server's own life: listen, sessions, a graceful
 * stop in three steps). Paths from @xstate/graph run on the pure machine with a SimulatedClock, and
 * over TCP on a real server where each event has its real cause: listen() (on a taken port to fail),
 * a peer connecting or closing, stop(), a handler holding the game logic past `drainTimeout`.
 */
import { createServer as createNetServer, type Server as NetServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { type AnyMachineSnapshot, createActor, fromPromise, type InspectionEvent, SimulatedClock } from 'xstate'
import { supervisorMachine, type SupervisorInput } from '../../machines/supervisor.js'
import type { CloseReason } from '../../src/errors.js'
import { createServer, type ServerState } from '../../src/server.js'
import { Coverage, expectTcpCoverage } from './coverage.js'
import {
  advanceTo,
  coverEdges,
  describeEvent,
  describePath,
  edgeTour,
  expectState,
  type ModelOptions,
  type ModelPath,
  modelEvents,
  nextTurn,
  parseAfter,
  parseInvoke,
  simplePaths,
  unique,
  until,
  walks,
} from './paths.js'
import { ActorLog, frame, RawPeer, showLog } from './tcp.js'

type Machine = typeof supervisorMachine
type Path = ModelPath<Machine>

const DRAIN_TIMEOUT = 500
const INPUT: SupervisorInput = { drainTimeout: DRAIN_TIMEOUT }
const peerRef = { id: 'peer' }

const valueOf = (snapshot: AnyMachineSnapshot): ServerState => snapshot.value as ServerState
const sessionsOf = (snapshot: AnyMachineSnapshot): number => (snapshot.context as { sessions: number }).sessions

/**
 * The environment: sessions are accepted only while listening (src/server.ts destroys other
 * sockets), one at a time is enough, and only an open session can close.
 */
const MODEL: ModelOptions<Machine> = {
  input: INPUT,
  events: modelEvents(supervisorMachine, { 'session.opened': [{ session: peerRef }], 'session.closed': [{ session: peerRef }] }),
  allow: (snapshot, event) => {
    if (event.type === 'session.opened') return snapshot.value === 'listening' && snapshot.context.sessions === 0
    if (event.type === 'session.closed') return snapshot.context.sessions > 0
    return true
  },
}

// ---------------------------------------------------------------------------------------------
// 1. Pure runs
// ---------------------------------------------------------------------------------------------

const pureCoverage = new Coverage(supervisorMachine)
let purePaths = 0

async function replayPure(path: Path): Promise<void> {
  const where = (i: number) => `${describePath(path)} [step ${i}: ${describeEvent(path.steps[i]!.event)}]`
  const clock = new SimulatedClock()
  const invoked = new Map<string, { resolve: () => void; reject: (error: unknown) => void }>()
  const calls: string[] = []
  const logic = supervisorMachine.provide({
    actions: {
      register: () => void calls.push('register'),
      unregister: () => void calls.push('unregister'),
      stopAccepting: () => void calls.push('stopAccepting'),
      closeAll: () => void calls.push('closeAll'),
    },
    actors: {
      drainGameLogic: fromPromise<void>(({ self }) => new Promise<void>((resolve, reject) => invoked.set(self.id, { resolve, reject }))),
    },
  })
  const actor = createActor(logic, { input: INPUT, clock, inspect: (event: InspectionEvent) => pureCoverage.observe(event) })
  actor.start()
  const steps = path.steps
  expectState(actor.getSnapshot(), steps[0]!.state, () => where(0))
  const expected: string[] = []
  for (let i = 1; i < steps.length; i++) {
    const event = steps[i]!.event
    const type: string = event.type
    const after = parseAfter(type)
    const invoke = parseInvoke(type)
    if (after) {
      // Only delays move the clock, and each leaves its state: the state was entered at now.
      expect(after.delay).toBe('drainTimeout')
      advanceTo(clock, clock.now() + DRAIN_TIMEOUT, () => expectState(actor.getSnapshot(), steps[i - 1]!.state, () => `${where(i)}, 1 ms before`))
    } else if (invoke) {
      const promise = invoked.get(invoke.id)
      expect(promise, `${where(i)}: ${invoke.id} runs`).toBeDefined()
      invoked.delete(invoke.id)
      if (invoke.kind === 'done') promise!.resolve()
      else promise!.reject(new Error('model: drain failed'))
      await nextTurn()
    } else {
      actor.send(event)
    }
    expectState(actor.getSnapshot(), steps[i]!.state, () => where(i))
    const from = valueOf(steps[i - 1]!.state)
    const to = valueOf(steps[i]!.state)
    if (event.type === 'session.opened') expected.push('register')
    if (event.type === 'session.closed') expected.push('unregister')
    if (to === 'draining' && from !== 'draining') expected.push('stopAccepting')
    if (from === 'draining' && to !== 'draining') expected.push('closeAll')
  }
  expect(calls, `${describePath(path)}: injected actions`).toEqual(expected)
  actor.stop()
  purePaths++
}

describe('supervisor machine: generated paths on the pure machine', () => {
  const paths = unique([...edgeTour(supervisorMachine, MODEL), ...simplePaths(supervisorMachine, MODEL), ...walks(supervisorMachine, MODEL, 9)])
  it(`${paths.length} paths (edge tour, simple paths, walks of up to 9 events)`, async () => {
    for (const path of paths) await replayPure(path)
  })

  it('covers every state and transition of the definition', () => {
    const line = pureCoverage.line('supervisor (pure)')
    console.log(`${line} (${purePaths} paths)`)
    expect(pureCoverage.complete, line).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// 2. TCP runs
// ---------------------------------------------------------------------------------------------

/**
 * How a path is staged on a real server, or why it cannot be. The game logic is held by a message
 * handler that waits on a gate (or by onDisconnect handlers of sessions the stop closes); the
 * gate opens at the step where the path lets the drain finish.
 */
interface Plan {
  holdMessage: boolean
  holdStopDisconnects: boolean
  /** Steps whose cause is opening the gate. */
  release: Set<number>
}

function plan(path: Path): Plan | string {
  const steps = path.steps
  const result: Plan = { holdMessage: false, holdStopDisconnects: false, release: new Set() }
  for (let i = 1; i < steps.length; i++) {
    if (parseInvoke(steps[i]!.event.type)?.kind === 'error') return 'the drain never fails: GameLoop.whenIdle() only resolves'
  }
  const final = valueOf(path.state)
  if (final === 'starting' || final === 'closing') return `${final} cannot be held still: the server leaves it by itself`
  const stop = steps.findIndex((step) => step.event.type === 'server.stop')
  if (stop < 0 || valueOf(steps[stop]!.state) === 'stopped') return result
  const exitOf = (state: ServerState): number | undefined => {
    for (let i = stop + 1; i < steps.length; i++) {
      if (valueOf(steps[i - 1]!.state) === state && valueOf(steps[i]!.state) !== state) return i
    }
    return undefined
  }
  const byDone = (i: number | undefined) => i !== undefined && parseInvoke(steps[i]!.event.type)?.kind === 'done'
  // Draining lasts only while the game is busy: unless the path lets it drain at once, hold it.
  const drainingExit = exitOf('draining')
  if (!byDone(drainingExit) || steps.some((step, i) => i > stop && valueOf(steps[i - 1]!.state) === 'draining' && step.event.type === 'session.closed')) {
    if (sessionsOf(steps[stop - 1]!.state) === 0) return 'holding the game in draining needs an open session to send a message'
    result.holdMessage = true
    if (byDone(drainingExit)) result.release.add(drainingExit!)
  }
  if (drainingExit === undefined) return result
  const settlingExit = exitOf('settling')
  const gateHeld = result.holdMessage && result.release.size === 0
  if (!byDone(settlingExit) && !gateHeld) {
    // Settling lasts only while the disconnect handlers of the sessions the stop closed run.
    if (sessionsOf(steps[drainingExit]!.state) === 0) return 'holding the game in settling needs a session the stop closes'
    result.holdStopDisconnects = true
  }
  if (byDone(settlingExit) && (gateHeld || result.holdStopDisconnects)) result.release.add(settlingExit!)
  return result
}

const tcpCoverage = new Coverage(supervisorMachine)
const tcpPaths: { path: Path; plan: Plan }[] = []
const notStaged = new Map<string, number>()
{
  const candidates = unique([...edgeTour(supervisorMachine, MODEL), ...simplePaths(supervisorMachine, MODEL)])
  const staged = new Map<Path, Plan>()
  for (const path of candidates) {
    const result = plan(path)
    if (typeof result === 'string') notStaged.set(result, (notStaged.get(result) ?? 0) + 1)
    else staged.set(path, result)
  }
  const view = (snapshot: AnyMachineSnapshot) => [snapshot.value, sessionsOf(snapshot)]
  for (const path of coverEdges([...staged.keys()], view)) tcpPaths.push({ path, plan: staged.get(path)! })
}

/** Transitions no real server can take, with why; the TCP coverage must miss exactly these. */
const UNREACHABLE_ON_A_SERVER = [
  'supervisor.draining --xstate.error.actor.0.supervisor.draining#0',
  'supervisor.settling --xstate.error.actor.0.supervisor.settling#0',
]

async function freePortTaken(): Promise<{ port: number; blocker: NetServer }> {
  const blocker = createNetServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  return { port: (blocker.address() as { port: number }).port, blocker }
}

async function replayTcp({ path, plan }: { path: Path; plan: Plan }): Promise<void> {
  const steps = path.steps
  const clock = new SimulatedClock()
  const log = new ActorLog()
  const server = createServer({
    clock,
    handshake: false,
    drainTimeout: DRAIN_TIMEOUT,
    heartbeat: { interval: 60_000, timeout: 120_000 },
    handlerTimeout: 600_000,
    inspect: (event) => {
      log.observe(event)
      tcpCoverage.observe(event)
    },
  })
  let openGate: () => void = () => {}
  const gate = new Promise<void>((resolve) => (openGate = resolve))
  let holding = false
  const disconnects: CloseReason[] = []
  server.onMessage((_, message) => {
    if (Buffer.from(message.data).toString() !== 'hold') return undefined
    holding = true
    return gate
  })
  server.onDisconnect((_, error) => {
    disconnects.push(error.code)
    return plan.holdStopDisconnects && error.code === 'server-stopping' ? gate : undefined
  })
  const records = () => log.of('supervisor')
  const where = (i: number) => `${describePath(path)} [step ${i}: ${describeEvent(steps[i]!.event)}]\nsupervisor log:\n${showLog(records())}`
  const peers: RawPeer[] = []
  const blockers: NetServer[] = []
  let listening: Promise<unknown> = Promise.resolve()
  let stopping: Promise<void> | null = null
  let port = 0

  /** Produces step i by its real cause; does nothing for a step the server takes by itself. */
  const cause = async (i: number): Promise<void> => {
    const event = steps[i]!.event
    const from = valueOf(steps[i - 1]!.state)
    const type: string = event.type
    const next = steps[i + 1]?.event.type
    if (plan.release.has(i)) {
      openGate()
      return
    }
    switch (event.type) {
      case 'server.listen': {
        let target = 0
        if (next === 'server.failed') {
          const taken = await freePortTaken()
          blockers.push(taken.blocker)
          target = taken.port
        }
        listening = server.listen({ host: '127.0.0.1', port: target }).then(
          (address) => (port = address.port),
          (error: unknown) => error,
        )
        return
      }
      case 'server.listening':
      case 'server.failed':
        await listening
        return
      case 'session.opened':
        peers.push(await RawPeer.connect(port))
        return
      case 'session.closed':
        // The stop closes every session itself; before that, the peer leaves.
        if (from !== 'closing') peers.at(-1)!.end()
        return
      case 'server.stop':
        if (plan.holdMessage) {
          peers.at(-1)!.write(frame(1, 'hold'))
          await until(() => holding, () => 'the hold handler runs')
        }
        stopping = server.stop()
        return
    }
    if (parseAfter(type)) {
      advanceTo(clock, clock.now() + DRAIN_TIMEOUT, () => expect(server.state, `${where(i)}, 1 ms before`).toBe(from))
      return
    }
    if (parseInvoke(type)?.kind === 'done') return // the game is idle, so the drain ends by itself
    throw new Error(`no real cause for ${type} over TCP: add one to the model test`)
  }

  /** The supervisor's transitions: the server may send it an event the machine ignores. */
  const transitions = () => log.transitionsOf('supervisor')

  try {
    for (let i = 0; i < steps.length; i++) {
      if (i > 0) await cause(i)
      await until(() => transitions().length > i, () => `the supervisor never took ${where(i)}`)
      const record = transitions()[i]!
      expect(record.event.type, where(i)).toBe(steps[i]!.event.type)
      expect({ value: record.snapshot.value, sessions: sessionsOf(record.snapshot) }, where(i)).toEqual({
        value: steps[i]!.state.value,
        sessions: sessionsOf(steps[i]!.state),
      })
    }
    // The server stays where the path ends, and took no other transition.
    for (let n = 0; n < 5; n++) await nextTurn()
    const final = valueOf(path.state)
    expect(server.state, 'server.state').toBe(final)
    expect(transitions().length, `extra transitions of the supervisor:\n${showLog(records())}`).toBe(steps.length)
    expect(server.connectionCount, 'the registry holds what the machine counts').toBe(sessionsOf(path.state))
    if (final === 'stopped') {
      await stopping
      // Stopped means stopped: nothing listens any more.
      await until(() => server.address !== null || port === 0, () => 'listen() settled')
      if (server.address !== null) {
        const refused = await RawPeer.connect(server.address.port).then(
          (peer) => {
            peer.destroy()
            return false
          },
          () => true,
        )
        expect(refused, `connecting to port ${server.address.port} of a stopped server is refused`).toBe(true)
      }
      // Every session is told why it ended, once the game logic is free again.
      openGate()
      const opened = steps.filter((step) => step.event.type === 'session.opened').length
      await until(() => disconnects.length === opened, () => `${opened} onDisconnect calls, got ${disconnects.length}`)
      const closedByPeer = steps.filter((step, i) => step.event.type === 'session.closed' && valueOf(steps[i - 1]!.state) !== 'closing').length
      expect(disconnects.sort()).toEqual([...Array<CloseReason>(closedByPeer).fill('client-closed'), ...Array<CloseReason>(opened - closedByPeer).fill('server-stopping')])
      await until(() => peers.every((peer) => peer.closed), () => 'every peer sees its connection closed')
    }
  } finally {
    openGate()
    for (const peer of peers) peer.destroy()
    await listening
    await server.stop()
    for (const blocker of blockers) blocker.close()
  }
}

describe('supervisor machine: the edge tour over TCP, every event from its real cause', () => {
  for (const staged of tcpPaths) {
    // A stop() while listen() is still binding must release the port too (it once did not).
    it(describePath(staged.path), async () => {
      await replayTcp(staged)
    })
  }

  it('covers every state and transition a server can take', () => {
    expectTcpCoverage(tcpCoverage, 'supervisor (tcp)', { paths: tcpPaths.length, notStaged, unreachable: UNREACHABLE_ON_A_SERVER })
  })
})
