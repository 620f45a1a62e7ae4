/**
 * Path generation with @xstate/graph: zerostate's own model tests use it, and so can a game's
 * tests of its room machines (`zerostate/testing`).
 *
 * - `edgeTour`: one shortest path per transition edge of the state graph. It runs getShortestPaths
 *   with a `serializeState` that names a vertex by (state, event that led to it, previous state), so
 *   every edge is a vertex of its own and gets its own shortest path. Run on a real server.
 * - `simplePaths`: every simple path (no state visited twice) to every state. Pure runs only.
 *
 * Events are the machine's own event types (`machine.events`, which includes XState's internal
 * `xstate.after.*`, `xstate.done.actor.*` and `xstate.error.actor.*` types), each expanded with
 * the parameter variants a test gives, and offered only where the machine handles them and the
 * environment can produce them (`allow`). A new event type in a machine is picked up on its own.
 *
 * Nothing here runs a machine or opens a socket: the docs script computes path counts with it too.
 */
import { getShortestPaths, getSimplePaths, type StatePath } from '@xstate/graph'
import type { AnyMachineSnapshot, AnyStateMachine, EventFromLogic, EventObject, InputFrom } from 'xstate'
import { eventName } from '../mermaid.js'

export type ModelEvent<TMachine extends AnyStateMachine> = EventFromLogic<TMachine>
export type ModelSnapshot<TMachine extends AnyStateMachine> = ReturnType<TMachine['transition']>
export type ModelPath<TMachine extends AnyStateMachine> = StatePath<ModelSnapshot<TMachine>, ModelEvent<TMachine>>

/** What the helpers below need of a path, whatever its machine. */
export interface AnyPath {
  steps: readonly { event: EventObject; state: AnyMachineSnapshot }[]
}

/** Parameter variants per event type; `xstate.done.actor` / `xstate.error.actor` match every invoke. */
export type EventVariants = Partial<Record<string, readonly object[]>>

/**
 * Every event the machine declares a transition for, expanded with `variants`. Internal events get
 * defaults: a done event with `output: undefined`, an error event with an Error.
 */
export function modelEvents<TMachine extends AnyStateMachine>(machine: TMachine, variants: EventVariants = {}): ModelEvent<TMachine>[] {
  const events: EventObject[] = []
  for (const type of machine.events as string[]) {
    const kind = /^xstate\.(done|error)\.actor\./.exec(type)
    const own = variants[type] ?? (kind ? variants[`xstate.${kind[1]}.actor`] : undefined)
    const defaults = kind?.[1] === 'done' ? [{ output: undefined }] : kind?.[1] === 'error' ? [{ error: new Error('model: the invoked actor failed') }] : [{}]
    for (const params of own ?? defaults) events.push({ ...params, type })
  }
  // The internal event types are not part of the machine's event type; they are events all the same.
  return events as ModelEvent<TMachine>[]
}

export interface ModelOptions<TMachine extends AnyStateMachine> {
  input: InputFrom<TMachine>
  events: readonly ModelEvent<TMachine>[]
  /** The environment: can this event happen in this state? Default: whenever the machine handles it. */
  allow?: (snapshot: ModelSnapshot<TMachine>, event: ModelEvent<TMachine>) => boolean
}

function eventsIn<TMachine extends AnyStateMachine>(options: ModelOptions<TMachine>) {
  return (snapshot: ModelSnapshot<TMachine>): ModelEvent<TMachine>[] => {
    const state = snapshot as AnyMachineSnapshot
    if (state.status !== 'active') return []
    return options.events.filter((event) => state.can(event) && (options.allow?.(snapshot, event) ?? true))
  }
}

/** A state as the graph sees it: value, context and status. */
export function plain(snapshot: unknown): string {
  const { value, context, status } = snapshot as AnyMachineSnapshot
  return JSON.stringify({ value, context, status })
}

/** One shortest path per edge (state, event) of the machine's reachable state graph. */
export function edgeTour<TMachine extends AnyStateMachine>(machine: TMachine, options: ModelOptions<TMachine>): ModelPath<TMachine>[] {
  return getShortestPaths(machine, {
    input: options.input,
    events: eventsIn(options),
    serializeState: (state, event, previous) => JSON.stringify([plain(state), event ?? null, previous ? plain(previous) : null]),
  })
}

/** Every simple path to every reachable state. */
export function simplePaths<TMachine extends AnyStateMachine>(machine: TMachine, options: ModelOptions<TMachine>): ModelPath<TMachine>[] {
  return getSimplePaths(machine, { input: options.input, events: eventsIn(options), serializeState: (state) => plain(state) })
}

/**
 * Every walk of up to `depth` events (states may repeat: active ⇄ heartbeatMissed loops too), as
 * shortest paths over a graph whose vertices are event histories.
 */
export function walks<TMachine extends AnyStateMachine>(machine: TMachine, options: ModelOptions<TMachine>, depth: number): ModelPath<TMachine>[] {
  const history = new WeakMap<object, { key: string; depth: number }>()
  const enabled = eventsIn(options)
  return getShortestPaths(machine, {
    input: options.input,
    events: (state) => ((history.get(state)?.depth ?? 0) >= depth ? [] : enabled(state)),
    serializeState: (state, event, previous) => {
      const before = previous ? history.get(previous) : undefined
      const entry = before ? { key: `${before.key}|${JSON.stringify(event)}`, depth: before.depth + 1 } : { key: plain(state), depth: 0 }
      history.set(state, entry)
      return entry.key
    },
  })
}

/** Paths with the same steps once; keeps the first. */
export function unique<TPath extends AnyPath>(paths: readonly TPath[]): TPath[] {
  const seen = new Set<string>()
  return paths.filter((path) => {
    const key = path.steps.map((step) => `${JSON.stringify(step.event)}>${plain(step.state)}`).join('|')
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** The edges of a path, as `from --event--> to` with states reduced by `view`. */
export function edgesOf(path: AnyPath, view: (snapshot: AnyMachineSnapshot) => unknown): string[] {
  const edges = path.steps.length > 0 ? [`(start) --> ${JSON.stringify(view(path.steps[0]!.state))}`] : []
  for (let i = 1; i < path.steps.length; i++) {
    edges.push(`${JSON.stringify(view(path.steps[i - 1]!.state))} --${describeEvent(path.steps[i]!.event)}--> ${JSON.stringify(view(path.steps[i]!.state))}`)
  }
  return edges
}

/**
 * A bounded set of paths that still takes every edge: longest first, a path is kept only if it takes
 * an edge (as seen through `view`) that no kept path takes. Prefixes of kept paths drop out. With
 * `span` 2, every pair of consecutive edges counts instead (transition-pair coverage).
 */
export function coverEdges<TPath extends AnyPath>(
  paths: readonly TPath[],
  view: (snapshot: AnyMachineSnapshot) => unknown,
  span = 1,
): TPath[] {
  const taken = new Set<string>()
  const kept: TPath[] = []
  for (const path of [...paths].sort((a, b) => b.steps.length - a.steps.length)) {
    const single = edgesOf(path, view)
    const edges = single.map((_, i) => single.slice(i, i + span).join(' ; '))
    if (edges.every((edge) => taken.has(edge))) continue
    for (const edge of edges) taken.add(edge)
    kept.push(path)
  }
  return kept.reverse()
}

/** `frame.invalid(bad-checksum)`, `invoke done(true)`, `after handshakeTimeout`. */
export function describeEvent(event: EventObject): string {
  const params = Object.entries(event)
    .filter(([key]) => key !== 'type')
    .map(([key, value]) => (key === 'error' ? 'error' : key === 'frame' || key === 'session' ? '' : isFrame(value) ? `#${value.id}` : JSON.stringify(value)))
    .filter((text) => text !== '')
  return `${eventName(event.type)}${params.length > 0 ? `(${params.join(', ')})` : ''}`
}

/** A message as game code sees it: shown by its id. */
function isFrame(value: unknown): value is { id: number; data: Uint8Array } {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'number' && (value as { data?: unknown }).data instanceof Uint8Array
}

export function describePath(path: AnyPath): string {
  const steps = path.steps.slice(1).map((step) => describeEvent(step.event))
  return steps.length > 0 ? steps.join(' → ') : '(initial state)'
}

