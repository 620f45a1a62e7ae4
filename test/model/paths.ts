/**
 * What the model tests add to the path generation of src/testing/paths.ts: driving delayed and
 * invoked transitions on a simulated clock.
 */
import type { SimulatedClock } from 'xstate'

export * from '../../src/testing/paths.js'

/**
 * Fires a delayed transition the real way: advances the simulated clock to one ms before the
 * deadline (and checks nothing happened), then by the last ms.
 */
export function advanceTo(clock: SimulatedClock, deadline: number, before: () => void): void {
  const remaining = Math.max(deadline - clock.now(), 1)
  if (remaining > 1) clock.increment(remaining - 1)
  before()
  clock.increment(1)
}

/** `xstate.after.handshakeTimeout.connection.handshake` → delay `handshakeTimeout`, state `connection.handshake`. */
export function parseAfter(type: string): { delay: string; stateId: string } | undefined {
  const match = /^xstate\.after\.([^.]+)\.(.+)$/.exec(type)
  return match ? { delay: match[1]!, stateId: match[2]! } : undefined
}

/** `xstate.done.actor.0.connection.handshake.verifying` → kind `done`, invoke id `0.connection.handshake.verifying`. */
export function parseInvoke(type: string): { kind: 'done' | 'error'; id: string } | undefined {
  const match = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type)
  return match ? { kind: match[1] as 'done' | 'error', id: match[2]! } : undefined
}
