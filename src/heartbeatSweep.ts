import type { Clock } from './options.js'

export interface Sweepable {
  sweep(now: number): void
}

/**
 * One coarse timer per server instead of one per session or per message: each read only writes
 * `lastSeen`, and every `period` ms this walks the sessions and signals the stale ones, then lets
 * the game logic check its pending handler. Timeouts fire late by up to one period, never early.
 *
 * Ticks are fixed-rate and judged at their due time, not at the moment the timer ran: a timer
 * always runs a little late, and judged at run time an idle peer that answers each heartbeat at
 * once would look silent for "an interval plus that lateness" and flap into heartbeatMissed. A
 * tick more than a period late (a blocked event loop, a simulated clock advanced in one jump) is
 * judged at the real time instead. Tick times are whole milliseconds, so that "an interval of
 * ticks later" adds up exactly (fractional periods summed to just under an interval).
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
