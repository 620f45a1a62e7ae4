/**
 * The game-logic statechart's model: a traversal copy whose backlog guard reads the event, the
 * paths of the pure runs, and how the TCP runs stage a path with real handlers (or why a path
 * cannot be staged). Pure computation, no sockets: the docs script counts these paths too.
 */
import type { AnyMachineSnapshot } from 'xstate'
import { gameLogicMachine } from '../../machines/gameLogic.js'
import { coverEdges, edgeTour, type ModelOptions, type ModelPath, modelEvents, simplePaths, unique, walks } from './paths.js'

/**
 * `hasBacklog` reads the queue the server owns. For the traversal the guard's answer is a parameter
 * of `game.drained` (`backlog: true | false`), so the graph explores both branches.
 */
export const traversal = gameLogicMachine.provide({
  guards: { hasBacklog: ({ event }) => (event as { backlog?: unknown }).backlog === true },
})
export type Machine = typeof traversal
export type Path = ModelPath<Machine>

export const MODEL: ModelOptions<Machine> = {
  input: undefined,
  events: modelEvents(traversal, { 'game.drained': [{ backlog: true }, { backlog: false }] }),
}

export const backlogOf = (event: object): boolean => (event as { backlog?: unknown }).backlog === true
export const isIdle = (snapshot: AnyMachineSnapshot): boolean => snapshot.value === 'idle'

/** Walks of up to this many events join the pure runs' paths. */
export const WALK_DEPTH = 8

/** The pure runs' paths: edge tour, simple paths and walks, each once. */
export function purePaths(): Path[] {
  return unique([...edgeTour(traversal, MODEL), ...simplePaths(traversal, MODEL), ...walks(traversal, MODEL, WALK_DEPTH)])
}

export const HEARTBEAT = { interval: 400_000, timeout: 800_000 }
/** The server's sweep period (src/server.ts): also how often a pending handler is looked at. */
export const SWEEP = Math.floor(Math.min(HEARTBEAT.interval, HEARTBEAT.timeout - HEARTBEAT.interval) / 4)
export const HANDLER_TIMEOUT = 2 * SWEEP

/**
 * How a path is staged: for each step, what the test does. A running episode starts with one
 * write holding every message it needs: `sync` handlers return at once, `hold` handlers wait on
 * their own gate, so the game stays running exactly as long as the path says.
 */
export type Cause = { kind: 'write'; messages: string[] } | { kind: 'release' | 'sweep' | 'jump'; gate: number } | { kind: 'none' }

export function plan(path: Path): Cause[] | string {
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

export interface TcpPaths {
  paths: { path: Path; causes: Cause[] }[]
  /** Why the other candidate paths cannot be staged, with how many. */
  notStaged: Map<string, number>
}

/** Candidate paths that can be staged, cut to the fewest that still take every pair of consecutive transitions. */
export function tcpPaths(): TcpPaths {
  const paths: TcpPaths['paths'] = []
  const notStaged = new Map<string, number>()
  const staged = new Map<Path, Cause[]>()
  for (const path of unique([...edgeTour(traversal, MODEL), ...simplePaths(traversal, MODEL), ...walks(traversal, MODEL, 4)])) {
    const result = plan(path)
    if (typeof result === 'string') notStaged.set(result, (notStaged.get(result) ?? 0) + 1)
    else staged.set(path, result)
  }
  // Every pair of consecutive transitions, so a handler also follows a settled or abandoned one.
  for (const path of coverEdges([...staged.keys()], (snapshot) => snapshot.value, 2)) paths.push({ path, causes: staged.get(path)! })
  return { paths, notStaged }
}
