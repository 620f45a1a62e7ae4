import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { OutboundQueue } from '../src/outboundQueue.js'
import { encodeFrame } from '../src/protocol/encoder.js'

const operation = fc.record({
  shared: fc.boolean(),
  id: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  data: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 400, maxLength: 5000 })),
})

describe('OutboundQueue', () => {
  it('writes exactly the frames queued, in order, whatever their sizes and however they were queued', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 40 }), (operations) => {
        const queue = new OutboundQueue()
        for (const { shared, id, data } of operations) {
          if (shared) queue.append(encodeFrame(id, data))
          else queue.encode(id, data)
        }
        const expected = Buffer.concat(operations.map(({ id, data }) => encodeFrame(id, data)))
        expect(queue.bytes).toBe(expected.length)
        if (operations.length === 0) return
        const taken = queue.take()
        expect(Buffer.concat(Array.isArray(taken) ? taken : [taken]).equals(expected)).toBe(true)
        expect(queue.bytes).toBe(0)
      }),
      // No shrinking: a failing case of this size shrinks for minutes; the first one is readable enough.
      { numRuns: 300, endOnFailure: true },
    )
  })

  it('hands a tick of small frames over as one buffer', () => {
    const queue = new OutboundQueue()
    for (let i = 0; i < 16; i++) queue.encode(i, new Uint8Array(64))
    expect(Buffer.isBuffer(queue.take())).toBe(true)
  })

  it('queues a large shared frame by reference, never copying it', () => {
    const queue = new OutboundQueue()
    const big = encodeFrame(1, new Uint8Array(64 * 1024))
    queue.encode(2, new Uint8Array(8))
    queue.append(big)
    const taken = queue.take() as Buffer[]
    expect(taken).toHaveLength(2)
    expect(taken[1]).toBe(big)
  })
})

describe('OutboundQueue, shared frames', () => {
  it('writes a shared frame alone in the queue as it is: no copy, no allocation per session', () => {
    const queue = new OutboundQueue()
    const frame = encodeFrame(3, new Uint8Array(64))
    queue.append(frame)
    expect(queue.take()).toBe(frame)
  })
})
