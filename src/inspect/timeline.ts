import type { InspectionRecord } from './inspectionRecord.js'

interface SessionLine {
  id: string
  remoteAddress: string | undefined
  start: number
  states: { t: number; state: string }[]
  reason: string | undefined
}

/**
 * A person-readable account of an inspection log: per session, the states it went through with
 * the time since it opened, and why it closed.
 */
export function formatTimeline(jsonl: string): string {
  const sessions = new Map<string, SessionLine>()
  const addresses = new Map<string, string>()
  for (const line of jsonl.split('\n')) {
    if (line.trim() === '') continue
    const record = JSON.parse(line) as InspectionRecord
    if (record.actor === 'supervisor' && record.kind === 'event' && record.event?.type === 'session.opened') {
      const session = record.event.session as { id?: string; remoteAddress?: string } | undefined
      if (session?.id && session.remoteAddress) addresses.set(session.id, session.remoteAddress)
    }
    if (!record.actor.startsWith('session:') || record.value === undefined) continue
    const id = record.actor.slice('session:'.length)
    let session = sessions.get(id)
    if (session === undefined) {
      session = { id, remoteAddress: undefined, start: record.t, states: [], reason: undefined }
      sessions.set(id, session)
    }
    const state = stateName(record.value)
    if (session.states.at(-1)?.state !== state) session.states.push({ t: record.t, state })
    const reason = record.context?.reason
    if (typeof reason === 'string') session.reason = reason
  }
  const out: string[] = []
  for (const session of sessions.values()) {
    const address = addresses.get(session.id)
    out.push(`session ${session.id}${address ? ` ${address}` : ''}`)
    for (const { t, state } of session.states) {
      const detail = state === 'closed' && session.reason ? ` (${session.reason})` : ''
      out.push(`  ${`+${t - session.start} ms`.padStart(10)}  ${state}${detail}`)
    }
  }
  return out.length > 0 ? out.join('\n') : 'no sessions in this log'
}

/** `{ handshake: 'verifying' }` reads as `handshake.verifying`. */
function stateName(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'object' && value !== null) {
    const [key, child] = Object.entries(value)[0] ?? []
    if (key !== undefined) return `${key}.${stateName(child)}`
  }
  return String(value)
}
