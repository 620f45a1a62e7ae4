/**
 * Coverage of a statechart, computed from its definition: every state node and every transition
 * definition (eventless, event and delayed; each guarded branch of an event is its own transition),
 * measured from the `@xstate.microstep` inspection events of the actors that really ran.
 *
 * Transitions are compared by key (source state id, event type, index in the source's list), not by
 * identity: `machine.provide()` builds new transition objects, and the server runs provided machines.
 *
 * The one-line summary (`coverage connection (tcp): states 7/7, transitions 17/17 (44 paths)`) is
 * formatted here, for what a run measured and for what a test says it must measure.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition, InspectionEvent } from 'xstate'

/** Every state node of a machine, the root first, then depth-first in declaration order. */
export function stateNodesOf(machine: AnyStateMachine): AnyStateNode[] {
  const nodes: AnyStateNode[] = []
  const visit = (node: AnyStateNode): void => {
    nodes.push(node)
    for (const child of Object.values(node.states) as AnyStateNode[]) visit(child)
  }
  visit(machine.root)
  return nodes
}

/**
 * Every transition a node declares: `always` first, then each event's branches in order, delayed
 * (`xstate.after.*`) and invoke (`xstate.done.actor.*`, `xstate.error.actor.*`) ones included. Unlike
 * `ownTransitions` of src/mermaid.ts, targetless transitions (actions only) count too: they are
 * behaviour a test must reach as well.
 */
export function transitionsOf(node: AnyStateNode): AnyTransitionDefinition[] {
  const transitions: AnyTransitionDefinition[] = [...(node.always ?? [])]
  for (const list of node.transitions.values()) transitions.push(...list)
  return transitions
}

/** `connection.handshake.verifying --xstate.done.actor.0.connection.handshake.verifying#1`: stable across `provide()`. */
export function transitionKey(transition: AnyTransitionDefinition): string {
  const source = transition.source
  const list = transition.eventType === '' ? (source.always ?? []) : (source.transitions.get(transition.eventType) ?? [])
  const index = list.indexOf(transition)
  if (index < 0) throw new Error(`transition ${transition.eventType} is not declared on ${source.id}`)
  return `${source.id} --${transition.eventType === '' ? 'always' : transition.eventType}#${index}`
}

function targetIds(transition: AnyTransitionDefinition): string[] {
  return (transition.target ?? []).map((target) => target.id)
}

/** The machine id of the actor an inspection event is about, if it is a state machine actor. */
function machineIdOf(event: InspectionEvent): string | undefined {
  const snapshot: unknown = 'snapshot' in event ? event.snapshot : undefined
  if (typeof snapshot !== 'object' || snapshot === null || !('machine' in snapshot)) return undefined
  const machine = (snapshot as { machine: unknown }).machine
  return typeof machine === 'object' && machine !== null && 'id' in machine ? String((machine as { id: unknown }).id) : undefined
}

/** What one coverage line says. */
export interface CoverageFigures {
  label: string
  states: { covered: number; total: number }
  transitions: { covered: number; total: number }
  /** Transitions this run need not take (zerostate's own: the ones no real cause produces over a socket). */
  exempt: number
  /** Generated paths the run replays. */
  paths: number
}

/** `coverage supervisor (tcp): states 8/8, transitions 13/15, 2 exempt (10 paths)`. */
export function coverageLine(figures: CoverageFigures): string {
  const { label, states, transitions, exempt, paths } = figures
  return (
    `coverage ${label}: states ${states.covered}/${states.total}, transitions ${transitions.covered}/${transitions.total}` +
    `${exempt > 0 ? `, ${exempt} exempt` : ''} (${paths} paths)`
  )
}

export interface CoverageReport {
  states: { covered: number; total: number; missing: string[] }
  transitions: { covered: number; total: number; missing: string[] }
}

/**
 * Collects what actors of one machine (matched by machine id) did. Pass `observe` as (part of) an
 * actor's or a server's `inspect` option; every actor of that machine it sees counts.
 */
export class Coverage {
  readonly stateIds: string[]
  readonly transitionKeys: string[]
  private readonly seenStates = new Set<string>()
  private readonly seenTransitions = new Set<string>()

  constructor(readonly machine: AnyStateMachine) {
    this.stateIds = stateNodesOf(machine).map((node) => node.id)
    this.transitionKeys = stateNodesOf(machine).flatMap((node) => transitionsOf(node).map(transitionKey))
  }

  readonly observe = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.microstep' || machineIdOf(event) !== this.machine.id) return
    // The state nodes the actor is in after this microstep, ancestors included.
    const nodes: unknown = (event.snapshot as { _nodes?: unknown })._nodes
    if (Array.isArray(nodes)) for (const node of nodes as AnyStateNode[]) this.seenStates.add(node.id)
    for (const transition of event._transitions) {
      this.seenTransitions.add(transitionKey(transition))
      // Taking a transition means having been in its source, even one the actor was restored into.
      this.seenStates.add(transition.source.id)
      for (const id of targetIds(transition)) this.seenStates.add(id)
    }
  }

  report(): CoverageReport {
    const missingStates = this.stateIds.filter((id) => !this.seenStates.has(id))
    const missingTransitions = this.transitionKeys.filter((key) => !this.seenTransitions.has(key))
    return {
      states: { covered: this.stateIds.length - missingStates.length, total: this.stateIds.length, missing: missingStates },
      transitions: {
        covered: this.transitionKeys.length - missingTransitions.length,
        total: this.transitionKeys.length,
        missing: missingTransitions,
      },
    }
  }

  /** The figures this run measured, for a line; `exempt` counts the transitions it need not take. */
  figures(label: string, paths: number, exempt = 0): CoverageFigures {
    const { states, transitions } = this.report()
    return { label, states, transitions, exempt, paths }
  }

  /** What the run did not take, one `state …` / `transition …` per line, or '' when nothing. */
  missing(): string {
    const { states, transitions } = this.report()
    const missing = [...states.missing.map((id) => `state ${id}`), ...transitions.missing.map((key) => `transition ${key}`)]
    return missing.length > 0 ? `not covered:\n    ${missing.join('\n    ')}` : ''
  }

  /** True when every state and every transition of the definition was taken. */
  get complete(): boolean {
    const { states, transitions } = this.report()
    return states.missing.length === 0 && transitions.missing.length === 0
  }
}
