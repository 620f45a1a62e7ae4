/**
 * The supervisor statechart's model: its events and environment, the paths of the pure runs, and
 * how the TCP runs stage a path on a real server (or why a path cannot be staged). Pure
 * computation, no sockets: the docs script counts these paths too.
 */
import type { AnyMachineSnapshot } from 'xstate'
import { supervisorMachine, type SupervisorInput } from '../../machines/supervisor.js'
import type { ServerState } from '../../src/server.js'
import { coverEdges, edgeTour, type ModelOptions, type ModelPath, modelEvents, parseInvoke, simplePaths, unique, walks } from './paths.js'

export type Machine = typeof supervisorMachine
export type Path = ModelPath<Machine>

export const DRAIN_TIMEOUT = 500
export const INPUT: SupervisorInput = { drainTimeout: DRAIN_TIMEOUT }

export const valueOf = (snapshot: AnyMachineSnapshot): ServerState => snapshot.value as ServerState

/** The environment: the server tells the registry's emptying only while the chart closes the sessions. */
export const MODEL: ModelOptions<Machine> = {
  input: INPUT,
  events: modelEvents(supervisorMachine),
  allow: (snapshot, event) => event.type !== 'registry.empty' || snapshot.value === 'closing',
}

/** Walks of up to this many events join the pure runs' paths. */
export const WALK_DEPTH = 9

/** The pure runs' paths: edge tour, simple paths and walks, each once. */
export function purePaths(): Path[] {
  return unique([...edgeTour(supervisorMachine, MODEL), ...simplePaths(supervisorMachine, MODEL), ...walks(supervisorMachine, MODEL, WALK_DEPTH)])
}

/**
 * How a path is staged on a real server, or why it cannot be. A path that listens has a peer
 * connect once the server listens, which a stop from `listening` closes (the cause of
 * `registry.empty`; with no session the server says it at once). The game logic is held by the
 * peer's message to a handler that waits on a gate (or by the onDisconnect handler of the session
 * the stop closes); the gate opens at the step where the path lets the drain finish.
 */
export interface Plan {
  /** A peer connects at `server.listening`. */
  peer: boolean
  holdMessage: boolean
  holdStopDisconnects: boolean
  /** Steps whose cause is opening the gate. */
  release: Set<number>
}

export function plan(path: Path): Plan | string {
  const steps = path.steps
  const result: Plan = { peer: steps.some((step) => step.event.type === 'server.listening'), holdMessage: false, holdStopDisconnects: false, release: new Set() }
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
  // A session is open only once the server listens: a stop while it binds has none to hold the game with.
  const session = valueOf(steps[stop - 1]!.state) === 'listening'
  // Draining lasts only while the game is busy: unless the path lets it drain at once, hold it.
  const drainingExit = exitOf('draining')
  if (!byDone(drainingExit)) {
    if (!session) return 'holding the game in draining needs an open session to send a message'
    result.holdMessage = true
  }
  if (drainingExit === undefined) return result
  const settlingExit = exitOf('settling')
  if (!byDone(settlingExit) && !result.holdMessage) {
    // Settling lasts only while the disconnect handler of the session the stop closed runs.
    if (!session) return 'holding the game in settling needs a session the stop closes'
    result.holdStopDisconnects = true
  }
  if (byDone(settlingExit) && (result.holdMessage || result.holdStopDisconnects)) result.release.add(settlingExit!)
  return result
}

export interface TcpPaths {
  paths: { path: Path; plan: Plan }[]
  /** Why the other candidate paths cannot be staged, with how many. */
  notStaged: Map<string, number>
}

/** Edge tour and simple paths that can be staged, cut to the fewest that still take every edge. */
export function tcpPaths(): TcpPaths {
  const paths: TcpPaths['paths'] = []
  const notStaged = new Map<string, number>()
  const candidates = unique([...edgeTour(supervisorMachine, MODEL), ...simplePaths(supervisorMachine, MODEL)])
  const staged = new Map<Path, Plan>()
  for (const path of candidates) {
    const result = plan(path)
    if (typeof result === 'string') notStaged.set(result, (notStaged.get(result) ?? 0) + 1)
    else staged.set(path, result)
  }
  for (const path of coverEdges([...staged.keys()], (snapshot) => snapshot.value)) paths.push({ path, plan: staged.get(path)! })
  return { paths, notStaged }
}
