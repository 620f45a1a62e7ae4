/**
 * A log of every actor's snapshots from a server's `inspect` stream, so the TCP model runs can
 * compare what each actor really did with the generated path.
 */
import type { AnyMachineSnapshot, EventObject, InspectionEvent } from 'xstate'

export interface ActorRecord {
  event: EventObject
  snapshot: AnyMachineSnapshot
  /** Whether the event took a transition; false when the machine ignored it. */
  took: boolean
}

/** Every `@xstate.snapshot` of every actor, by actor id (`supervisor`, `gameLogic`, `session:<id>`). */
export class ActorLog {
  private readonly records = new Map<string, ActorRecord[]>()
  /** Actors whose current macrostep has taken a transition so far. */
  private readonly taking = new Set<string>()

  readonly observe = (event: InspectionEvent): void => {
    const id = (event.actorRef as { id?: string }).id ?? '?'
    if (event.type === '@xstate.microstep' && event._transitions.length > 0) this.taking.add(id)
    if (event.type !== '@xstate.snapshot') return
    let list = this.records.get(id)
    if (list === undefined) this.records.set(id, (list = []))
    list.push({ event: event.event, snapshot: event.snapshot as AnyMachineSnapshot, took: this.taking.delete(id) })
  }

  /** Every snapshot of the actor, one per event it processed. */
  of(actorId: string): ActorRecord[] {
    return this.records.get(actorId) ?? []
  }

  /** The actor's initial snapshot and then only the events that took a transition. */
  transitionsOf(actorId: string): ActorRecord[] {
    return this.of(actorId).filter((record, i) => i === 0 || record.took)
  }

  ids(): string[] {
    return [...this.records.keys()]
  }
}

/** Events and states of an actor's log, one line each, for failure messages. */
export function showLog(records: readonly ActorRecord[]): string {
  return records.map((record, i) => `  ${i}: ${record.event.type} → ${JSON.stringify(record.snapshot.value)}${record.took || i === 0 ? '' : ' (ignored)'}`).join('\n')
}
