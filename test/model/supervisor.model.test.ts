/**
 * Model-based tests of the supervisor statechart (the server's own life: listen, a graceful stop in
 * three steps). Paths from @xstate/graph run on the pure machine with a SimulatedClock, and over TCP
 * on a real server where each event has its real cause: listen() (on a taken port to fail), stop(),
 * the stop closing a peer's session, a handler holding the game logic past `drainTimeout`.
 */
import { createServer as createNetServer, type Server as NetServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createActor, fromPromise, type InspectionEvent, SimulatedClock } from 'xstate'
import { supervisorMachine } from '../../machines/supervisor.js'
import type { CloseReason } from '../../src/errors.js'
import { createServer } from '../../src/server.js'
import { frame } from '../helpers/frames.js'
import { RawPeer } from '../helpers/rawPeer.js'
import { nextIO, waitFor } from '../helpers/wait.js'
import { ActorLog, showLog } from './actorLog.js'
import { Coverage } from './coverage.js'
import { figuresOf } from './coverageFigures.js'
import { expectCoverage } from './expectCoverage.js'
import { expectState } from './expectState.js'
import { advanceTo, describeEvent, describePath, parseAfter, parseInvoke } from './paths.js'
import { DRAIN_TIMEOUT, INPUT, type Path, type Plan, purePaths, tcpPaths as stageTcpPaths, valueOf, WALK_DEPTH } from './supervisorPaths.js'
import { exemptKeys } from './tcpExemptions.js'

// ---------------------------------------------------------------------------------------------
// 1. Pure runs
// ---------------------------------------------------------------------------------------------

const pureCoverage = new Coverage(supervisorMachine)
let purePathsRun = 0

async function replayPure(path: Path): Promise<void> {
  const where = (i: number) => `${describePath(path)} [step ${i}: ${describeEvent(path.steps[i]!.event)}]`
  const clock = new SimulatedClock()
  const invoked = new Map<string, { resolve: () => void; reject: (error: unknown) => void }>()
  const calls: string[] = []
  const logic = supervisorMachine.provide({
    actions: {
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
      await nextIO()
    } else {
      actor.send(event)
    }
    expectState(actor.getSnapshot(), steps[i]!.state, () => where(i))
    const from = valueOf(steps[i - 1]!.state)
    const to = valueOf(steps[i]!.state)
    if (to === 'draining' && from !== 'draining') expected.push('stopAccepting')
    if (from === 'draining' && to !== 'draining') expected.push('closeAll')
  }
  expect(calls, `${describePath(path)}: injected actions`).toEqual(expected)
  actor.stop()
  purePathsRun++
}

describe('supervisor machine: generated paths on the pure machine', () => {
  const paths = purePaths()
  it(`${paths.length} paths (edge tour, simple paths, walks of up to ${WALK_DEPTH} events)`, async () => {
    for (const path of paths) await replayPure(path)
  })

  it('covers every state and transition of the definition', () => {
    expectCoverage(pureCoverage, figuresOf('supervisor').pure, [], purePathsRun)
  })
})

// ---------------------------------------------------------------------------------------------
// 2. TCP runs
// ---------------------------------------------------------------------------------------------

const tcpCoverage = new Coverage(supervisorMachine)
const { paths: tcpPaths, notStaged } = stageTcpPaths()
let tcpPathsRun = 0

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
        await listening
        if (plan.peer) {
          peers.push(await RawPeer.open(port))
          await waitFor(() => server.connectionCount === 1, { message: () => 'the peer has a session' })
        }
        return
      case 'server.failed':
        await listening
        return
      case 'registry.empty':
        return // the stop closed the peer's session (or found none open)
      case 'server.stop':
        if (plan.holdMessage) {
          await peers.at(-1)!.write(frame(1, 'hold'))
          await waitFor(() => holding, { message: () => 'the hold handler runs' })
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
      await waitFor(() => transitions().length > i, { message: () => `the supervisor never took ${where(i)}` })
      const record = transitions()[i]!
      expect(record.event.type, where(i)).toBe(steps[i]!.event.type)
      expect(record.snapshot.value, where(i)).toEqual(steps[i]!.state.value)
    }
    // The server stays where the path ends, and took no other transition.
    for (let n = 0; n < 5; n++) await nextIO()
    const final = valueOf(path.state)
    expect(server.state, 'server.state').toBe(final)
    expect(transitions().length, `extra transitions of the supervisor:\n${showLog(records())}`).toBe(steps.length)
    const open = peers.length > 0 && !['closing', 'settling', 'stopped'].includes(final) ? 1 : 0
    expect(server.connectionCount, 'the registry holds the peer until the stop closes it').toBe(open)
    if (final === 'stopped') {
      await stopping
      // Stopped means stopped: nothing listens any more.
      await waitFor(() => server.address !== null || port === 0, { message: () => 'listen() settled' })
      const stoppedPort: unknown = server.address?.port
      if (typeof stoppedPort === 'number') {
        const refused = await RawPeer.open(stoppedPort).then(
          (peer) => {
            peer.destroy()
            return false
          },
          () => true,
        )
        expect(refused, `connecting to port ${stoppedPort} of a stopped server is refused`).toBe(true)
      }
      // Every session is told why it ended, once the game logic is free again.
      openGate()
      await waitFor(() => disconnects.length === peers.length, { message: () => `${peers.length} onDisconnect calls, got ${disconnects.length}` })
      expect(disconnects).toEqual(Array<CloseReason>(peers.length).fill('server-stopping'))
      await waitFor(() => peers.every((peer) => peer.closed), { message: () => 'every peer sees its connection closed' })
    }
    tcpPathsRun++
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
    const note = `paths not staged over TCP: ${[...notStaged].map(([why, n]) => `${n} (${why})`).join('; ')}`
    expectCoverage(tcpCoverage, figuresOf('supervisor').tcp, exemptKeys('supervisor'), tcpPathsRun, note)
  })
})
