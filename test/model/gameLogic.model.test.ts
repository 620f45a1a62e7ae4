/**
 * Model-based tests of the game-logic statechart: the one place user handlers run, one at a time.
 * Paths from @xstate/graph run on the pure machine (the test finishes each drain itself)
 * and over TCP on a real server, where the events come from real handlers: a message wakes the
 * game, a handler that waits on a gate keeps it running, the sweep on the injected clock reports it
 * slow and then times it out, opening the gate settles it.
 */
import { describe, expect, it } from 'vitest'
import { type AnyMachineSnapshot, createActor, type InspectionEvent, SimulatedClock } from 'xstate'
import { gameLogicMachine } from '../../machines/gameLogic.js'
import { createServer } from '../../src/server.js'
import { Coverage, expectTcpCoverage } from './coverage.js'
import {
  coverEdges,
  describeEvent,
  describePath,
  edgeTour,
  expectState,
  type ModelOptions,
  type ModelPath,
  modelEvents,
  nextTurn,
  simplePaths,
  unique,
  until,
  walks,
} from './paths.js'
import { ActorLog, frame, RawPeer, showLog } from './tcp.js'

/**
 * `hasBacklog` reads the queue the server owns. For the traversal the guard's answer is a parameter
 * of `game.drained` (`backlog: true | false`), so the graph explores both branches.
 */
const traversal = gameLogicMachine.provide({
  guards: { hasBacklog: ({ event }) => (event as { backlog?: unknown }).backlog === true },
})
type Machine = typeof traversal
type Path = ModelPath<Machine>

const MODEL: ModelOptions<Machine> = {
  input: undefined,
  events: modelEvents(traversal, { 'game.drained': [{ backlog: true }, { backlog: false }] }),
}

const backlogOf = (event: object): boolean => (event as { backlog?: unknown }).backlog === true
const isIdle = (snapshot: AnyMachineSnapshot): boolean => snapshot.value === 'idle'

// ---------------------------------------------------------------------------------------------
// 1. Pure runs
// ---------------------------------------------------------------------------------------------

const pureCoverage = new Coverage(gameLogicMachine)
let purePaths = 0

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
  purePaths++
}

describe('game-logic machine: generated paths on the pure machine', () => {
  const paths = unique([...edgeTour(traversal, MODEL), ...simplePaths(traversal, MODEL), ...walks(traversal, MODEL, 8)])
  it(`${paths.length} paths (edge tour, simple paths, walks of up to 8 events)`, () => {
    for (const path of paths) replayPure(path)
  })

  it('covers every state and transition of the definition', () => {
    const line = pureCoverage.line('gameLogic (pure)')
    console.log(`${line} (${purePaths} paths)`)
    expect(pureCoverage.complete, line).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// 2. TCP runs
// ---------------------------------------------------------------------------------------------

const HEARTBEAT = { interval: 400_000, timeout: 800_000 }
/** The server's sweep period (src/server.ts): also how often a pending handler is looked at. */
const SWEEP = Math.floor(Math.min(HEARTBEAT.interval, HEARTBEAT.timeout - HEARTBEAT.interval) / 4)
const HANDLER_TIMEOUT = 2 * SWEEP

/**
 * How a path is staged: for each step, what the test does. A running episode starts with one
 * write holding every message it needs: `sync` handlers return at once, `hold` handlers wait on
 * their own gate, so the game stays running exactly as long as the path says.
 */
type Cause = { kind: 'write'; messages: string[] } | { kind: 'release' | 'sweep' | 'jump'; gate: number } | { kind: 'none' }

function plan(path: Path): Cause[] | string {
  const steps = path.steps
  const causes: Cause[] = [{ kind: 'none' }]
  let episode: string[] = []
  /** Held handlers started so far; the one running is the last. */
  let gates = 0
  /** A held handler is running (otherwise the drain is about to end by itself). */
  let held = false
  /** The step after i follows by itself: nothing is queued, so the drain ends and reports. */
  const drainsNext = (i: number) => steps[i + 1]?.event.type === 'game.drained' && !backlogOf(steps[i + 1]!.event)
  for (let i = 1; i < steps.length; i++) {
    const event = steps[i]!.event
    const from = steps[i - 1]!.state
    switch (event.type) {
      case 'game.wake':
        held = !drainsNext(i)
        if (held) gates++
        episode = [held ? 'hold' : 'sync']
        causes.push({ kind: 'write', messages: episode })
        break
      case 'game.drained':
        if (backlogOf(event)) return 'game.drained with a backlog: GameLoop drains until its queue is empty, then reports'
        if (from.matches({ running: 'stalled' })) return 'drained while stalled: a stalled handler settles (handler.settled) before the drain ends'
        causes.push(held ? { kind: 'release', gate: gates - 1 } : { kind: 'none' })
        held = false
        break
      case 'handler.slow':
      case 'handler.settled':
      case 'handler.timeout': {
        if (!held) return `${event.type} needs a pending handler`
        const kind = event.type === 'handler.settled' ? 'release' : event.type === 'handler.timeout' && from.matches({ running: 'busy' }) ? 'jump' : 'sweep'
        causes.push({ kind, gate: gates - 1 })
        if (event.type === 'handler.slow') break
        // The handler is done (settled or abandoned): unless the drain ends next, the next one
        // must be waiting in the queue, written with the first.
        held = !drainsNext(i)
        if (held) {
          episode.push('hold')
          gates++
        }
        break
      }
    }
  }
  return causes
}

const tcpCoverage = new Coverage(gameLogicMachine)
const tcpPaths: { path: Path; causes: Cause[] }[] = []
const notStaged = new Map<string, number>()
{
  const staged = new Map<Path, Cause[]>()
  for (const path of unique([...edgeTour(traversal, MODEL), ...simplePaths(traversal, MODEL), ...walks(traversal, MODEL, 4)])) {
    const result = plan(path)
    if (typeof result === 'string') notStaged.set(result, (notStaged.get(result) ?? 0) + 1)
    else staged.set(path, result)
  }
  // Every pair of consecutive transitions, so a handler also follows a settled or abandoned one.
  for (const path of coverEdges([...staged.keys()], (snapshot) => snapshot.value, 2)) tcpPaths.push({ path, causes: staged.get(path)! })
}

/**
 * Transitions no real server takes; the TCP coverage must miss exactly these. `game.drained` with
 * `hasBacklog` (re-enter running): GameLoop's drain reports only once its queue is empty, and
 * nothing can queue between that report and the guard (an enqueue while running never wakes the
 * actor, and the drain loop itself picks up what handlers enqueue). The branch is defensive.
 */
const UNREACHABLE_ON_A_SERVER = ['gameLogic.running --game.drained#0']

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
    peer = await RawPeer.connect(port)
    const client = peer
    // The connect event runs onConnect (none here) first: the path starts once the game is idle again.
    await until(() => transitions().length === 3 && transitions()[2]!.snapshot.value === 'idle', () => `the connect drained:\n${showLog(log.of('gameLogic'))}`)
    const base = transitions().length - 1
    const where = (i: number) => `${describePath(path)} [step ${i}: ${describeEvent(steps[i]!.event)}]\ngame log:\n${showLog(log.of('gameLogic'))}`
    for (let i = 0; i < steps.length; i++) {
      const cause = causes[i]!
      if (cause.kind === 'write') {
        // One write, so every message of the episode is queued before the first handler returns.
        client.write(Buffer.concat(cause.messages.map((text) => frame(1, text))))
      } else if (cause.kind !== 'none') {
        await until(() => gates.length > cause.gate, () => `held handler #${cause.gate} runs at ${where(i)}`)
        if (cause.kind === 'release') gates[cause.gate]!()
        else {
          const before = transitions().length
          if (cause.kind === 'jump') clock.increment(HANDLER_TIMEOUT)
          for (let n = 0; n < 4 && transitions().length === before; n++) clock.increment(SWEEP)
          client.write(frame(0, '')) // a heartbeat keeps the session fresh; it never reaches the game
        }
      }
      await until(() => transitions().length > base + i, () => `the game logic never took ${where(i)}`)
      const record = transitions()[base + i]!
      if (i > 0) expect(record.event.type, where(i)).toBe(steps[i]!.event.type)
      expect(record.snapshot.value, where(i)).toEqual(steps[i]!.state.value)
    }
    for (let n = 0; n < 5; n++) await nextTurn()
    expect(transitions().length, `extra transitions of the game logic:\n${showLog(log.of('gameLogic'))}`).toBe(base + steps.length)
    const abandoned = steps.filter((step) => step.event.type === 'handler.timeout').length
    expect(errors, 'a handler-timeout error per abandoned handler').toEqual(Array<string>(abandoned).fill('handler-timeout'))
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
    expectTcpCoverage(tcpCoverage, 'gameLogic (tcp)', { paths: tcpPaths.length, notStaged, unreachable: UNREACHABLE_ON_A_SERVER })
  })
})
