import type { Clock } from './options.js'

export interface Sweepable {
  sweep(now: number): void
}

/**
 * One coarse timer per server instead of one per session or per message: each read only writes
 * `lastSeen`, and every `period` ms this walks the sessions and signals the stale ones, then lets
 * the game logic check its pending handler. Timeouts fire late by up to one period, never early.
 */
export class HeartbeatSweep {
  private handle: unknown = null

  constructor(
    private readonly clock: Clock,
    private readonly period: number,
    private readonly sessions: ReadonlyMap<string, Sweepable>,
    private readonly game: Sweepable,
  ) {}

  start(): void {
    if (this.handle === null) this.schedule()
  }

  stop(): void {
    if (this.handle !== null) this.clock.clearTimeout(this.handle)
    this.handle = null
  }

  private schedule(): void {
    this.handle = this.clock.setTimeout(this.tick, this.period)
  }

  private readonly tick = (): void => {
    const now = this.clock.now()
    for (const session of this.sessions.values()) session.sweep(now)
    this.game.sweep(now)
    this.schedule()
  }
}
