import { describe, expect, it } from 'vitest'
import { byteLength, oneFrame, ReplayLog } from '../src/resume/replayLog.js'

const frame = (n: number, size = 4) => Uint8Array.from({ length: size }, () => n)

describe('ReplayLog', () => {
  it('gives back exactly the frames after a count, and null for frames it no longer holds or never sent', () => {
    const log = new ReplayLog<Uint8Array>(3, oneFrame)
    for (let i = 0; i < 5; i++) log.push(frame(i))
    expect(log.sent).toBe(5)
    expect(log.length).toBe(3)
    expect(log.since(5)).toEqual([])
    expect(log.since(3)!.map((f) => f[0])).toEqual([3, 4])
    expect(log.since(2)!.map((f) => f[0])).toEqual([2, 3, 4])
    expect(log.since(1), 'frame 1 was dropped').toBeNull()
    expect(log.since(6), 'more than was sent').toBeNull()
  })

  it('bounded by bytes, drops the oldest until the weight fits, the newest too when it alone is over', () => {
    const log = new ReplayLog(10, byteLength)
    log.push(frame(1, 4))
    log.push(frame(2, 4))
    log.push(frame(3, 4))
    expect(log.weight).toBe(8)
    expect(log.since(1)!.map((f) => f[0])).toEqual([2, 3])
    log.push(frame(4, 11))
    expect(log.length).toBe(0)
    expect(log.weight).toBe(0)
    expect(log.since(4)).toEqual([])
    expect(log.since(3), 'the frame over the capacity is not held').toBeNull()
  })

  it('counts modulo 2^32, as the wire does', () => {
    const log = new ReplayLog<Uint8Array>(4, oneFrame)
    log.sent = 2 ** 32 - 1
    log.push(frame(7))
    log.push(frame(8))
    expect(log.since(2 ** 32 - 1)!.map((f) => f[0])).toEqual([7, 8])
    expect(log.since(0)!.map((f) => f[0])).toEqual([8])
  })

  it('stays O(1) amortized: a long run keeps only what it must', () => {
    const log = new ReplayLog<Uint8Array>(8, oneFrame)
    for (let i = 0; i < 10_000; i++) log.push(frame(i & 0xff))
    expect(log.length).toBe(8)
    expect(log.since(10_000 - 8)).toHaveLength(8)
  })
})
