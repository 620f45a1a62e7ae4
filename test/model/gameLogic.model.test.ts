/**
 * Model-based tests of the game-logic statechart: the one place user handlers run, one at a time.
 * Paths from @xstate/graph run on the pure machine (the test finishes each drain itself)
 * and over TCP on a real server, where the events come from real handlers: a message wakes the
 * game, a handler that waits on a gate keeps it running, the sweep on the injected clock reports it
 * slow and then times it out, opening the gate settles it, and a sweep that finds the game quiet
 * sends it idle.
 */
import { describe, expect, it } from 'vitest'
import { createActor, type InspectionEvent, SimulatedClock } from 'xstate'
import { gameLogicMachine } from '../../machines/gameLogic.js'
import { createServer } from '../../src/server.js'
import { frame } from '../helpers/frames.js'
import { RawPeer } from '../helpers/rawPeer.js'
import { nextIO, waitFor } from '../helpers/wait.js'
import { ActorLog, showLog } from './actorLog.js'
import { Coverage } from './coverage.js'
import { figuresOf } from './coverageFigures.js'
import { expectCoverage } from './expectCoverage.js'
import { expectState } from './expectState.js'
import {
  backlogOf,
  type Cause,
  HANDLER_TIMEOUT,
  HEARTBEAT,
  isIdle,
  type Path,
  purePaths,
  SWEEP,
  tcpPaths as stageTcpPaths,
  WALK_DEPTH,
} from './gameLogicPaths.js'
import { describeEvent, describePath } from './paths.js'
import { exemptKeys } from './tcpExemptions.js'

// ---------------------------------------------------------------------------------------------
// 1. Pure runs
// ---------------------------------------------------------------------------------------------

const pureCoverage = new Coverage(gameLogicMachine)
let purePathsRun = 0

/** What the implementations of the current pure run report to and read from. */
const run = { backlog: false, draining: false, calls: [] as string[] }

/** Whether a drain runs now (a function, so the check below is not narrowed away). */
function draining(): boolean {
  return run.draining
}

/** Provided once (provide() builds a whole machine): the implementations work on `run`. */
const pureLogic = gameLogicMachine.provide({
  actions: {
    abandonHandler: () => void run.calls.push('abandon'),
    startDrain: () => {
      run.calls.push('drain')
      run.draining = true
    },
    stopDrain: () => {
      run.calls.push('stop drain')
      run.draining = false
    },
  },
  guards: { hasBacklog: () => run.backlog },
})

function replayPure(path: Path): void {
  const where = (i: number) => `${describePath(path)} [step ${i}: ${describeEvent(path.steps[i]!.event)}]`
  run.backlog = false
  run.draining = false
  const calls: string[] = (run.calls = [])
  const actor = createActor(pureLogic, { clock: new SimulatedClock(), inspect: (event: InspectionEvent) => pureCoverage.observe(event) })
  actor.start()
  const steps = path.steps
  expectState(actor.getSnapshot(), steps[0]!.state, () => where(0))
  const expected: string[] = []
  for (let i = 1; i < steps.length; i++) {
    const event = steps[i]!.event
    if (event.type === 'game.drained') {
      // Only a running drain reports it, as the server's does; the guard answers as the path says.
      run.backlog = backlogOf(event)
      if (!draining()) throw new Error(`${where(i)}: no drain runs`)
    }
    actor.send(event)
    expectState(actor.getSnapshot(), steps[i]!.state, () => where(i))
    // Leaving running stops the drain; entering (or re-entering) it starts a new one.
    const from = steps[i - 1]!.state
    const to = steps[i]!.state
    if (event.type === 'handler.timeout') expected.push('stop drain', 'abandon', 'drain')
    else if (event.type === 'game.drained' && !isIdle(to)) expected.push('stop drain', 'drain')
    else if (!isIdle(from) && isIdle(to)) expected.push('stop drain')
    else if (isIdle(from) && !isIdle(to)) expected.push('drain')
  }
  const count = (list: string[]) => Object.fromEntries(['drain', 'stop drain', 'abandon'].map((call) => [call, list.filter((c) => c === call).length]))
  expect(count(calls), `${describePath(path)}: drains started and stopped, handlers abandoned`).toEqual(count(expected))
  actor.stop()
  purePathsRun++
}

describe('game-logic machine: generated paths on the pure machine', () => {
  const paths = purePaths()
  it(`${paths.length} paths (edge tour, simple paths, walks of up to ${WALK_DEPTH} events)`, () => {
    for (const path of paths) replayPure(path)
  })

  it('covers every state and transition of the definition', () => {
    expectCoverage(pureCoverage, figuresOf('gameLogic').pure, [], purePathsRun)
  })
})

// ---------------------------------------------------------------------------------------------
// 2. TCP runs
// ---------------------------------------------------------------------------------------------

const tcpCoverage = new Coverage(gameLogicMachine)
const { paths: tcpPaths, notStaged } = stageTcpPaths()
let tcpPathsRun = 0

async function replayTcp({ path, causes }: { path: Path; causes: Cause[] }): Promise<void> {
  const steps = path.steps
  const clock = new SimulatedClock()
  const log = new ActorLog()
  const server = createServer({
    clock,
    handshake: false,
    heartbeat: HEARTBEAT,
    handlerTimeout: HANDLER_TIMEOUT,
    inspect: (event) => {
      log.observe(event)
      tcpCoverage.observe(event)
    },
  })
  const gates: (() => void)[] = []
  const errors: string[] = []
  server.onMessage((_, message) => {
    if (Buffer.from(message.data).toString() !== 'hold') return undefined
    return new Promise<void>((resolve) => gates.push(resolve))
  })
  server.onError((error) => void errors.push(error.code))
  const transitions = () => log.transitionsOf('gameLogic')
  let peer: RawPeer | null = null
  try {
    const { port } = await server.listen({ port: 0 })
    peer = await RawPeer.open(port)
    const client = peer
    // A quiet game goes idle on the sweep that finds it so: turn the clock a sweep at a time, a
    // heartbeat after each keeping the session fresh, until the game has taken `count` transitions.
    const sweepUntil = async (count: number) => {
      for (let n = 0; n < 4 && transitions().length < count; n++) {
        await nextIO()
        if (transitions().length >= count) return
        clock.increment(SWEEP)
        await client.write(frame(0, ''))
      }
    }
    // The connect event runs onConnect (none here) first: the path starts once the game is idle again.
    await waitFor(() => transitions().length === 2, { message: () => `the connect woke the game:\n${showLog(log.of('gameLogic'))}` })
    await sweepUntil(3)
    await waitFor(() => transitions().length === 3 && transitions()[2]!.snapshot.value === 'idle', { message: () => `the connect drained:\n${showLog(log.of('gameLogic'))}` })
    const base = transitions().length - 1
    const where = (i: number) => `${describePath(path)} [step ${i}: ${describeEvent(steps[i]!.event)}]\ngame log:\n${showLog(log.of('gameLogic'))}`
    for (let i = 0; i < steps.length; i++) {
      const cause = causes[i]!
      if (cause.kind === 'write') {
        // One write, so every message of the episode is queued before the first handler returns.
        await client.write(Buffer.concat(cause.messages.map((text) => frame(1, text))))
      } else if (cause.kind !== 'none') {
        await waitFor(() => gates.length > cause.gate, { message: () => `held handler #${cause.gate} runs at ${where(i)}` })
        if (cause.kind === 'release') gates[cause.gate]!()
        else {
          const before = transitions().length
          if (cause.kind === 'jump') clock.increment(HANDLER_TIMEOUT)
          for (let n = 0; n < 4 && transitions().length === before; n++) clock.increment(SWEEP)
          await client.write(frame(0, '')) // a heartbeat keeps the session fresh; it never reaches the game
        }
      }
      if (steps[i]!.event.type === 'game.drained') await sweepUntil(base + i + 1)
      await waitFor(() => transitions().length > base + i, { message: () => `the game logic never took ${where(i)}` })
      const record = transitions()[base + i]!
      if (i > 0) expect(record.event.type, where(i)).toBe(steps[i]!.event.type)
      expect(record.snapshot.value, where(i)).toEqual(steps[i]!.state.value)
    }
    for (let n = 0; n < 5; n++) await nextIO()
    expect(transitions().length, `extra transitions of the game logic:\n${showLog(log.of('gameLogic'))}`).toBe(base + steps.length)
    const abandoned = steps.filter((step) => step.event.type === 'handler.timeout').length
    expect(errors, 'a handler-timeout error per abandoned handler').toEqual(Array<string>(abandoned).fill('handler-timeout'))
    tcpPathsRun++
  } finally {
    for (const open of gates) open()
    peer?.destroy()
    await server.stop()
  }
}

describe('game-logic machine: the edge tour over TCP, driven by real handlers', () => {
  for (const staged of tcpPaths) {
    it(describePath(staged.path), async () => {
      await replayTcp(staged)
    })
  }

  it('covers every state and transition a server can take', () => {
    const note = `paths not staged over TCP: ${[...notStaged].map(([why, n]) => `${n} (${why})`).join('; ')}`
    expectCoverage(tcpCoverage, figuresOf('gameLogic').tcp, exemptKeys('gameLogic'), tcpPathsRun, note)
  })
})
