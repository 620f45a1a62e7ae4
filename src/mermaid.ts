import type { AnyStateMachine, AnyStateNode } from 'xstate'

type AnyTransition = AnyStateNode['transitions'] extends Map<string, (infer T)[]> ? T : never

/**
 * A Mermaid `stateDiagram-v2` of a machine, drawn from its definition so a diagram in the README
 * cannot drift from the code: a test regenerates it and compares.
 */
export function toMermaid(machine: AnyStateMachine): string {
  const lines = ['stateDiagram-v2']
  const root = machine.root
  lines.push(`  [*] --> ${name(root.initial.target[0]!)}`)
  // Transitions declared on the root apply to every top-level state: draw them from each one that
  // does not handle the event itself, one arrow per target with the events joined.
  const rootEdges = new Map<string, string[]>()
  for (const transition of ownTransitions(root)) {
    for (const state of children(root)) {
      if (state.type === 'final' || isTransient(state) || state.transitions.has(transition.eventType)) continue
      const key = `${name(state)} --> ${name(transition.target![0]!)}`
      rootEdges.set(key, [...(rootEdges.get(key) ?? []), label(transition)])
    }
  }
  drawStates(root, lines, '  ')
  for (const [edge, labels] of rootEdges) lines.push(`  ${edge} : ${labels.join(', ')}`)
  return lines.join('\n')
}

function drawStates(parent: AnyStateNode, lines: string[], indent: string): void {
  for (const state of children(parent)) {
    if (state.type === 'compound') {
      lines.push(`${indent}state ${name(state)} {`)
      lines.push(`${indent}  [*] --> ${name(state.initial.target[0]!)}`)
      drawStates(state, lines, `${indent}  `)
      lines.push(`${indent}}`)
    }
    if (state.type === 'final') lines.push(`${indent}${name(state)} --> [*]`)
    for (const transition of ownTransitions(state)) {
      for (const target of transition.target ?? []) lines.push(`${indent}${name(state)} --> ${name(target)} : ${label(transition)}`)
    }
  }
}

/** A state left at once by an unguarded eventless transition never sees an event. */
function isTransient(node: AnyStateNode): boolean {
  return (node.always ?? []).some((transition) => transition.guard === undefined)
}

function children(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states) as AnyStateNode[]
}

/** Event, delayed and eventless transitions of a node, in declaration order. */
export function ownTransitions(node: AnyStateNode): AnyTransition[] {
  const transitions: AnyTransition[] = [...node.always ?? []]
  for (const list of node.transitions.values()) transitions.push(...list)
  return transitions.filter((transition) => transition.target !== undefined && transition.target.length > 0)
}

function name(node: AnyStateNode): string {
  return node.path.join('_') || node.id
}

function label(transition: AnyTransition): string {
  const guard = transition.guard
  const guardName = typeof guard === 'string' ? guard : typeof guard === 'object' && guard !== null && 'type' in guard ? String(guard.type) : guard ? 'guard' : ''
  return `${eventName(transition.eventType)}${guardName ? ` [${guardName}]` : ''}${closeReason(transition)}`
}

/** The close reason a transition records, when it names one in its action's params. */
function closeReason(transition: AnyTransition): string {
  for (const action of transition.actions) {
    if (typeof action === 'object' && action !== null && 'params' in action) {
      const params: unknown = action.params
      if (typeof params === 'object' && params !== null && 'reason' in params) return ` / ${String(params.reason)}`
    }
  }
  return ''
}

/** XState's internal event names, made readable: `xstate.after.handshakeTimeout.connection.handshake` → `after handshakeTimeout`. */
export function eventName(eventType: string): string {
  if (eventType === '') return 'always'
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType)
  if (after) return `after ${after[1]}`
  const done = /^xstate\.(done|error)\.actor\./.exec(eventType)
  if (done) return done[1] === 'done' ? 'invoke done' : 'invoke error'
  return eventType
}
