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
const peerRef = { id: 'peer' }

export const valueOf = (snapshot: AnyMachineSnapshot): ServerState => snapshot.value as ServerState
export const sessionsOf = (snapshot: AnyMachineSnapshot): number => (snapshot.context as { sessions: number }).sessions

/**
 * The environment: sessions are accepted only while listening (src/server.ts destroys other
 * sockets), one at a time is enough, and only an open session can close.
 */
export const MODEL: ModelOptions<Machine> = {
  input: INPUT,
  events: modelEvents(supervisorMachine, { 'session.opened': [{ session: peerRef }], 'session.closed': [{ session: peerRef }] }),
  allow: (snapshot, event) => {
    if (event.type === 'session.opened') return snapshot.value === 'listening' && snapshot.context.sessions === 0
    if (event.type === 'session.closed') return snapshot.context.sessions > 0
    return true
  },
}

/** Walks of up to this many events join the pure runs' paths. */
export const WALK_DEPTH = 9

/** The pure runs' paths: edge tour, simple paths and walks, each once. */
export function purePaths(): Path[] {
  return unique([...edgeTour(supervisorMachine, MODEL), ...simplePaths(supervisorMachine, MODEL), ...walks(supervisorMachine, MODEL, WALK_DEPTH)])
}

/**
 * How a path is staged on a real server, or why it cannot be. The game logic is held by a message
 * handler that waits on a gate (or by onDisconnect handlers of sessions the stop closes); the
 * gate opens at the step where the path lets the drain finish.
 */
export interface Plan {
  holdMessage: boolean
  holdStopDisconnects: boolean
  /** Steps whose cause is opening the gate. */
  release: Set<number>
}

export function plan(path: Path): Plan | string {
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
  const view = (snapshot: AnyMachineSnapshot) => [snapshot.value, sessionsOf(snapshot)]
  for (const path of coverEdges([...staged.keys()], view)) paths.push({ path, plan: staged.get(path)! })
  return { paths, notStaged }
}
