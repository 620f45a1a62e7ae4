import type { InspectionEvent } from 'xstate'

/** One line of an inspection log: what `--inspect-file` writes and `zerostate timeline` reads. */
export interface InspectionRecord {
  /** Wall-clock milliseconds. */
  t: number
  kind: 'actor' | 'event' | 'snapshot'
  /** The actor's id: `supervisor`, `gameLogic` or `session:<uuid>`. */
  actor: string
  /** The cluster node whose actor it is (`--inspect-file` with `--cluster`). */
  node?: string
  /** For `event` and `snapshot`: the event's type and its small fields. */
  event?: Record<string, unknown>
  /** For `actor` and `snapshot`: the state value, status and context. */
  value?: unknown
  status?: string
  context?: Record<string, unknown>
}

/**
 * Turns XState's inspection event into a record, or null for the kinds a log does not need
 * (microsteps, actions). Payload bytes are summarised by their length: a log is for reading.
 */
export function toInspectionRecord(event: InspectionEvent, t: number): InspectionRecord | null {
  const ref = event.actorRef
  const actor = 'id' in ref && typeof ref.id === 'string' ? ref.id : ref.sessionId
  switch (event.type) {
    case '@xstate.actor':
      // The snapshot cannot be read while the actor is being created; its first snapshot event follows.
      return { t, kind: 'actor', actor }
    case '@xstate.event':
      return { t, kind: 'event', actor, event: plain(event.event) }
    case '@xstate.snapshot':
      return { t, kind: 'snapshot', actor, event: { type: event.event.type }, ...describeSnapshot(event.snapshot) }
    default:
      return null
  }
}

function describeSnapshot(snapshot: unknown): Pick<InspectionRecord, 'value' | 'status' | 'context'> {
  const { value, status, context } = (snapshot ?? {}) as { value?: unknown; status?: string; context?: unknown }
  const described: Pick<InspectionRecord, 'value' | 'status' | 'context'> = {}
  if (value !== undefined) described.value = value
  if (status !== undefined) described.status = status
  if (context !== undefined && context !== null) described.context = plain(context)
  return described
}

/** A JSON-safe shallow copy: bytes become their length, objects with `toJSON` use it, errors their message. */
function plain(object: object): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(object)) copy[key] = plainValue(value)
  return copy
}

function plainValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: value.length }
  if (value instanceof Error) return { error: value.message }
  if (typeof value === 'function') return undefined
  if (typeof value !== 'object' || value === null) return value
  if ('toJSON' in value && typeof value.toJSON === 'function') return value.toJSON()
  if (Array.isArray(value)) return value.map(plainValue)
  return plain(value)
}
