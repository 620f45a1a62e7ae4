/**
 * HeartbeatSweep on a SimulatedClock: fixed-rate ticks judged at their due time, a tick more than a
 * period late judged at the real time, whole-millisecond tick times, start idempotent, stop, and
 * every session and the game swept on each tick. Nothing sleeps: the clock is moved by hand.
 */
import { describe, expect, it } from 'vitest'
import { SimulatedClock } from 'xstate'
import { HeartbeatSweep, type Sweepable } from '../src/heartbeatSweep.js'

const PERIOD = 250

/** A sweepable that records the time of each sweep it was given. */
class Recorder implements Sweepable {
  readonly times: number[] = []
  sweep(now: number): void {
    this.times.push(now)
  }
}

function setUp(start = 0) {
  const clock = new SimulatedClock()
  if (start > 0) clock.set(start)
  const sessions = new Map<string, Recorder>([
    ['a', new Recorder()],
    ['b', new Recorder()],
  ])
  const game = new Recorder()
  const sweep = new HeartbeatSweep(clock, PERIOD, sessions, game)
  return { clock, sessions, game, sweep }
}

describe('HeartbeatSweep', () => {
  it('ticks every period, judging each tick at its due time even when its timer runs late', () => {
    const { clock, game, sweep } = setUp()
    sweep.start()
    clock.increment(PERIOD - 1)
    expect(game.times, 'nothing before the first period').toEqual([])
    clock.increment(1)
    expect(game.times).toEqual([250])
    // Each timer runs a little late (the simulated clock jumps past the due time): still judged at it.
    clock.set(500.4)
    clock.set(751)
    clock.set(1_000.9)
    expect(game.times).toEqual([250, 500, 750, 1_000])
  })

  it('judges a tick more than a period late at the real time, then goes on a period from there', () => {
    const { clock, game, sweep } = setUp()
    sweep.start()
    clock.increment(PERIOD)
    // The event loop was blocked (or the clock jumped): due at 500, run at 1,337.6.
    clock.set(1_337.6)
    expect(game.times).toEqual([250, 1_337])
    clock.set(1_337 + PERIOD)
    expect(game.times).toEqual([250, 1_337, 1_587])
  })

  it('judges a tick up to just under a period late at its due time', () => {
    const { clock, game, sweep } = setUp()
    sweep.start()
    clock.increment(PERIOD)
    // Due at 500, run 249.9 ms late: still within a period.
    clock.set(2 * PERIOD + PERIOD - 0.1)
    expect(game.times).toEqual([250, 500])
    // The next timer is at least 1 ms away; it runs 750.9 and is judged at its due time.
    clock.set(3 * PERIOD + 0.9)
    expect(game.times).toEqual([250, 500, 750])
  })

  it('ticks at whole milliseconds when started at a fractional time', () => {
    const { clock, game, sweep } = setUp(10.7)
    sweep.start()
    clock.set(260)
    clock.set(510.3)
    clock.set(1_900.25)
    clock.set(2_150)
    expect(game.times).toEqual([260, 510, 1_900, 2_150])
    expect(game.times.every(Number.isInteger)).toBe(true)
  })

  it('adds up to exactly an interval over as many ticks (no fractional drift)', () => {
    const { clock, game, sweep } = setUp(0.1)
    sweep.start()
    for (let i = 1; i <= 20; i++) clock.set(i * PERIOD + 0.6)
    expect(game.times).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * PERIOD))
  })

  it('start is idempotent: a second start neither adds a timer nor moves the schedule', () => {
    const { clock, game, sweep } = setUp()
    sweep.start()
    clock.increment(100)
    sweep.start()
    clock.increment(150)
    expect(game.times).toEqual([250])
    clock.increment(PERIOD)
    expect(game.times).toEqual([250, 500])
  })

  it('stop cancels the next tick; a later start schedules from then', () => {
    const { clock, game, sweep } = setUp()
    sweep.start()
    clock.increment(PERIOD)
    sweep.stop()
    clock.increment(10 * PERIOD)
    expect(game.times).toEqual([250])
    sweep.stop() // stopping a stopped sweep is harmless
    sweep.start()
    clock.increment(PERIOD)
    expect(game.times).toEqual([250, 2_750 + PERIOD])
  })

  it('sweeps every current session and then the game on each tick, all with the same time', () => {
    const { clock, sessions, game, sweep } = setUp()
    const order: string[] = []
    for (const [id, session] of sessions) {
      const record = session.sweep.bind(session)
      session.sweep = (now) => {
        order.push(id)
        record(now)
      }
    }
    const gameRecord = game.sweep.bind(game)
    game.sweep = (now) => {
      order.push('game')
      gameRecord(now)
    }
    sweep.start()
    clock.increment(PERIOD)
    expect(order).toEqual(['a', 'b', 'game'])
    // Sessions come and go between ticks; each tick sweeps those there are then.
    const c = new Recorder()
    sessions.delete('a')
    sessions.set('c', c)
    clock.increment(PERIOD)
    expect(order).toEqual(['a', 'b', 'game', 'b', 'game'])
    expect(sessions.get('b')!.times).toEqual([250, 500])
    expect(c.times).toEqual([500])
    expect(game.times).toEqual([250, 500])
  })
})
