import type { InspectionRecord } from './inspectionRecord.js'

/** One actor's story: a session (`session:<id>`) or a room (`room:<name>:<id>`). */
interface ActorLine {
  /** The actor's id (`session:<id>`, `room:<name>:<id>`). */
  actor: string
  /** The cluster node the actor ran on, for a merged log. */
  node: string | undefined
  start: number
  states: { t: number; state: string }[]
  /** The last state value shown (joins and leaves come between states). */
  state: string | undefined
  /** A session's close reason. */
  reason: string | undefined
}

/**
 * A person-readable account of an inspection log (or of several nodes' logs joined, each record
 * carrying its node): per session, the states it went through with
 * the time since it opened, how it was lost while detached and why it closed; per room, the
 * states of its machine, with the players who joined, dropped, resumed and left.
 */
export function formatTimeline(jsonl: string): string {
  const actors = new Map<string, ActorLine>()
  const sessionInfo = new Map<string, string>()
  // Nodes' logs merged: the same actor id on two nodes is two actors.
  const lineOf = (record: InspectionRecord): ActorLine => {
    const key = `${record.node ?? ''}/${record.actor}`
    let line = actors.get(key)
    if (line === undefined) actors.set(key, (line = { actor: record.actor, node: record.node, start: record.t, states: [], state: undefined, reason: undefined }))
    return line
  }
  for (const text of jsonl.split('\n')) {
    if (text.trim() === '') continue
    const record = JSON.parse(text) as InspectionRecord
    if (record.actor === 'registry' && record.kind === 'event' && record.event?.type === 'connection.opened') {
      const session = record.event.session as { id?: string; transport?: string; remoteAddress?: string } | undefined
      if (session?.id && session.remoteAddress) sessionInfo.set(`${record.node ?? ''}/${session.id}`, [session.transport, session.remoteAddress].filter(Boolean).join(' '))
    }
    const room = record.actor.startsWith('room:')
    if (!(room || record.actor.startsWith('session:'))) continue
    if (room && record.kind === 'event' && record.event !== undefined) {
      const { type, player, reason } = record.event as { type?: string; player?: string; reason?: string }
      const seat = type === undefined ? undefined : SEAT_EVENTS[type]
      if (seat !== undefined) {
        const line = lineOf(record)
        line.states.push({ t: record.t, state: `${seat} ${player}${reason ? ` (${reason})` : ''}` })
      }
      continue
    }
    if (record.value === undefined) continue
    const line = lineOf(record)
    const state = stateName(record.value)
    // A detached session says how its peer was lost.
    const loss = state === 'detached' ? record.context?.loss : undefined
    if (line.state !== state) line.states.push({ t: record.t, state: typeof loss === 'string' ? `${state} (${loss})` : state })
    line.state = state
    const reason = record.context?.reason
    if (!room && typeof reason === 'string') line.reason = reason
  }
  const out: string[] = []
  for (const line of actors.values()) {
    const { actor, node } = line
    const id = actor.slice(actor.indexOf(':') + 1)
    const info = actor.startsWith('session:') ? sessionInfo.get(`${node ?? ''}/${id}`) : undefined
    const where = node === undefined ? '' : ` on node ${node}`
    out.push(actor.startsWith('session:') ? `session ${id}${where}${info ? ` ${info}` : ''}` : `room ${id}${where}`)
    for (const { t, state } of line.states) {
      const detail = state === 'closed' && line.reason ? ` (${line.reason})` : ''
      out.push(`  ${`+${t - line.start} ms`.padStart(10)}  ${state}${detail}`)
    }
  }
  return out.length > 0 ? out.join('\n') : 'no sessions in this log'
}

/** What a room's player events read as in its story. */
const SEAT_EVENTS: Readonly<Record<string, string>> = { 'player.joined': 'joined', 'player.dropped': 'dropped', 'player.resumed': 'resumed', 'player.left': 'left' }

/** `{ handshake: 'verifying' }` reads as `handshake.verifying`. */
function stateName(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'object' && value !== null) {
    const [key, child] = Object.entries(value)[0] ?? []
    if (key !== undefined) return `${key}.${stateName(child)}`
  }
  return String(value)
}
