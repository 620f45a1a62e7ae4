/**
 * EventQueue: first in, first out across wrap-around and growth (also growth while the ring is
 * wrapped), `size`, and no reference kept to a session or payload once its event was shifted.
 */
import { describe, expect, it } from 'vitest'
import { getGc } from '../stress/util.js'
import { EventQueue } from '../src/eventQueue.js'
import { nextIO } from './helpers/wait.js'

type Event = [kind: number, session: string, payload: number]

function drain(queue: EventQueue<number, string, number>): Event[] {
  const out: Event[] = []
  while (queue.size > 0) out.push(queue.shift((kind, session, payload): Event => [kind, session, payload]))
  return out
}

describe('EventQueue', () => {
  it('shifts events in the order they were pushed, with their three parts, and counts them', () => {
    const queue = new EventQueue<number, string, number>(4)
    expect(queue.size).toBe(0)
    queue.push(1, 'a', 10)
    queue.push(2, 'b', 20)
    queue.push(3, 'c', 30)
    expect(queue.size).toBe(3)
    expect(queue.shift((kind, session, payload) => `${kind}${session}${payload}`)).toBe('1a10')
    expect(queue.size).toBe(2)
    expect(drain(queue)).toEqual([
      [2, 'b', 20],
      [3, 'c', 30],
    ])
    expect(queue.size).toBe(0)
  })

  it('keeps FIFO order when it grows while its ring is wrapped around', () => {
    const queue = new EventQueue<number, string, number>(4)
    // Move the head to the middle, then fill past the end so the ring wraps, then past capacity.
    for (let i = 0; i < 3; i++) queue.push(0, 'x', i)
    expect(drain(queue).map(([, , payload]) => payload)).toEqual([0, 1, 2])
    for (let i = 0; i < 4; i++) queue.push(i, `s${i}`, 100 + i) // wrapped: slots 3, 0, 1, 2
    queue.push(4, 's4', 104) // full and wrapped: grows
    for (let i = 5; i < 20; i++) queue.push(i, `s${i}`, 100 + i) // grows again
    expect(queue.size).toBe(20)
    expect(drain(queue)).toEqual(Array.from({ length: 20 }, (_, i): Event => [i, `s${i}`, 100 + i]))
  })

  it('interleaves pushes and shifts over many wrap-arounds in order', () => {
    const queue = new EventQueue<number, string, number>(2)
    const shifted: number[] = []
    let next = 0
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < (round % 7) + 1; i++) queue.push(0, 's', next++)
      for (let i = 0; i < (round % 5) + 1 && queue.size > 0; i++) shifted.push(queue.shift((_, __, payload) => payload))
    }
    shifted.push(...drain(queue).map(([, , payload]) => payload))
    expect(shifted).toEqual(Array.from({ length: next }, (_, i) => i))
  })

  it('holds no reference to a shifted session or payload, so they can be collected', async () => {
    const gc = getGc()
    expect(gc, 'a GC handle (stress/util.ts getGc)').not.toBeNull()
    const queue = new EventQueue<number, object, object>(4)
    const refs = ((): { session: WeakRef<object>; payload: WeakRef<object> } => {
      const session = { id: 'session' }
      const payload = { data: new Uint8Array(1024) }
      queue.push(1, session, payload)
      queue.push(2, { id: 'kept' }, { data: 'kept' })
      queue.shift(() => undefined)
      return { session: new WeakRef(session), payload: new WeakRef(payload) }
    })()
    // WeakRef targets stay alive until the current job ends: collect on a later turn.
    await nextIO()
    gc!()
    expect(refs.session.deref(), 'the shifted session').toBeUndefined()
    expect(refs.payload.deref(), 'the shifted payload').toBeUndefined()
    expect(queue.size).toBe(1)
    expect(queue.shift((kind, session, payload) => [kind, session, payload])).toEqual([2, { id: 'kept' }, { data: 'kept' }])
  })
})
