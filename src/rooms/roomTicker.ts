import type { Clock } from '../options.js'

/** A room type's tick schedule. */
export interface TickSchedule {
  /** Ticks per second. */
  readonly tickRate: number
  /** Runs the type's tick for every room of it; called with the tick's due time. */
  tick(now: number): void
}

/**
 * One fixed-rate timer for every room of every type, never one per room or per message. It fires
 * at the fastest tick rate asked for and ticks each type whose own next tick is due. Like the
 * heartbeat sweep, a tick is judged at its due time, not when the timer ran, so a timer running a
 * little late does not make ticks drift; one more than a period late (a blocked loop, a simulated
 * clock advanced in one jump) is judged at the real time.
 */
export class RoomTicker {
  private handle: unknown = null
  private readonly due = new Map<TickSchedule, number>()

  constructor(private readonly clock: Clock) {}

  /** Starts ticking `schedule` (a room type that now has a room); idempotent. */
  add(schedule: TickSchedule): void {
    if (schedule.tickRate <= 0 || this.due.has(schedule)) return
    this.due.set(schedule, this.clock.now() + periodOf(schedule))
    this.reschedule()
  }

  /** Stops ticking `schedule` (its last room is gone). */
  remove(schedule: TickSchedule): void {
    if (this.due.delete(schedule)) this.reschedule()
  }

  stop(): void {
    this.due.clear()
    this.reschedule()
  }

  private reschedule(): void {
    if (this.handle !== null) this.clock.clearTimeout(this.handle)
    this.handle = null
    let next = Number.POSITIVE_INFINITY
    for (const due of this.due.values()) next = Math.min(next, due)
    if (next !== Number.POSITIVE_INFINITY) this.handle = this.clock.setTimeout(this.fire, Math.max(1, next - this.clock.now()))
  }

  private readonly fire = (): void => {
    this.handle = null
    const actual = this.clock.now()
    for (const [schedule, due] of this.due) {
      if (due > actual) continue
      const period = periodOf(schedule)
      const now = actual - due < period ? due : actual
      this.due.set(schedule, now + period)
      schedule.tick(now)
    }
    this.reschedule()
  }
}

function periodOf(schedule: TickSchedule): number {
  return 1000 / schedule.tickRate
}
