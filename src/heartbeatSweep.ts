import type { Clock } from './options.js'

export interface Sweepable {
  sweep(now: number): void
}

/**
 * One coarse timer per server instead of one per session or per message: each read only writes
 * `lastSeen`, and every `period` ms this walks the sessions and signals the stale ones, then lets
 * the game logic check its pending handler. Timeouts fire late by up to one period, never early.
 *
 * Ticks are fixed-rate and judged at their scheduled time, not at the moment the timer ran. A
 * timer runs a little late every time; judged at run time, an idle peer that answers each of our
 * heartbeats at once would look silent for "one interval plus that lateness" at the next tick,
 * and flap into heartbeatMissed and back every interval. A tick more than a period late (a blocked
 * event loop, a simulated clock advanced in one jump) is judged at the real time instead.
 *
 * Tick times are whole milliseconds (the period is one too), so "an interval of ticks later" is
 * exact: from a fractional origin, four periods of 1250 added up can come to 4999.999…, which
 * skipped a session's heartbeat for one tick and then judged its peer silent (a fifth of 10,000
 * idle sessions flapped every round).
 */
export class HeartbeatSweep {
  private handle: unknown = null
  /** When the next tick is due. */
  private due = 0

  constructor(
    private readonly clock: Clock,
    private readonly period: number,
    private readonly sessions: { values(): Iterable<Sweepable> },
    private readonly game: Sweepable,
  ) {}

  start(): void {
    if (this.handle !== null) return
    this.due = Math.floor(this.clock.now()) + this.period
    this.schedule()
  }

  stop(): void {
    if (this.handle !== null) this.clock.clearTimeout(this.handle)
    this.handle = null
  }

  private schedule(): void {
    this.handle = this.clock.setTimeout(this.tick, Math.max(1, this.due - this.clock.now()))
  }

  private readonly tick = (): void => {
    const actual = this.clock.now()
    const now = actual - this.due < this.period ? this.due : Math.floor(actual)
    this.due = now + this.period
    for (const session of this.sessions.values()) session.sweep(now)
    this.game.sweep(now)
    this.schedule()
  }
}
