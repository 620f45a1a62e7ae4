import { describe, expect, it } from 'vitest'
import { frameChecksum } from '../../src/protocol/checksum.js'
import { HEARTBEAT_FRAME, encodeFrame, frameLength, writeFrame } from '../../src/protocol/encoder.js'
import { adler32 } from '../helpers/adler32.js'
import { refFrame } from './reference.js'

const INT32_MIN = -0x80000000
const INT32_MAX = 0x7fffffff

describe('reference Adler-32 (sanity of the test oracle)', () => {
  it('matches published vectors', () => {
    expect(adler32(new Uint8Array(0))).toBe(0x00000001)
    expect(adler32(Buffer.from('Wikipedia', 'ascii'))).toBe(0x11e60398)
    expect(adler32(new Uint8Array(4))).toBe(0x00040001)
    // zlib.adler32(b'\x01\x00\x00\x00hello')
    expect(adler32(Uint8Array.of(1, 0, 0, 0, 0x68, 0x65, 0x6c, 0x6c, 0x6f))).toBe(0x06390216)
  })
})

describe('frameChecksum (src) against the reference', () => {
  const ff = (n: number) => Buffer.alloc(n, 0xff)

  it('agrees on long runs of 0xff, where a lazily-reduced Adler-32 could overflow', () => {
    // zlib.adler32(b'\xff' * 5552) and 5553, around zlib's NMAX block boundary: 4 id bytes + the rest
    expect(frameChecksum(ff(4), 0, ff(5548))).toBe(0xf18f9b8c)
    expect(frameChecksum(ff(4), 0, ff(5549))).toBe(0x8e299c8b)
    const big = ff(1 << 20)
    expect(frameChecksum(big, 0, big.subarray(4))).toBe(adler32(big))
  })

  it('covers the 4 id bytes at the offset given, then the data', () => {
    const bytes = Buffer.from('xxWikipediayy', 'ascii')
    expect(frameChecksum(bytes, 2, bytes.subarray(6, 11))).toBe(0x11e60398)
    expect(frameChecksum(Buffer.from([1, 0, 0, 0]), 0, Buffer.from('hello'))).toBe(0x06390216)
    expect(frameChecksum(Buffer.alloc(4), 0, new Uint8Array(0))).toBe(adler32(Buffer.alloc(4)))
  })

  it('returns an unsigned 32-bit number', () => {
    // 1 MiB + 4 of 0xff gives a checksum with the top bit set: 0x9538ef18 is the id-7 frame's.
    const value = frameChecksum(Buffer.from([7, 0, 0, 0]), 0, ff(1 << 20))
    expect(value).toBe(0x9538ef18)
    expect(value).toBeGreaterThan(0)
  })
})

describe('encodeFrame', () => {
  it('encodes id 1, "hello" byte for byte', () => {
    const data = Buffer.from('hello', 'ascii')
    const frame = encodeFrame(1, data)
    const sum = adler32(Uint8Array.of(1, 0, 0, 0, ...data))
    expect(sum).toBe(0x06390216)
    const expected = [
      // size = 8 + 5 = 13, int32 LE
      0x0d, 0x00, 0x00, 0x00,
      // id = 1, int32 LE
      0x01, 0x00, 0x00, 0x00,
      // data
      0x68, 0x65, 0x6c, 0x6c, 0x6f,
      // Adler-32 of id bytes + data, uint32 LE
      sum & 0xff, (sum >>> 8) & 0xff, (sum >>> 16) & 0xff, (sum >>> 24) & 0xff,
    ]
    expect(expected.slice(13)).toEqual([0x16, 0x02, 0x39, 0x06])
    expect(frame.length).toBe(17)
    expect([...frame]).toEqual(expected)
    expect(Uint8Array.from(frame)).toEqual(refFrame(1, data))
  })

  it('encodes the size field as 8 + n (everything after the size field)', () => {
    for (const n of [0, 1, 7, 8, 255, 256, 65536]) {
      const frame = encodeFrame(42, new Uint8Array(n))
      expect(frame.length).toBe(12 + n)
      expect(frame.readInt32LE(0)).toBe(8 + n)
      expect(frame.length - 4).toBe(frame.readInt32LE(0))
    }
  })

  it('encodes empty data as a 12-byte frame', () => {
    const frame = encodeFrame(5, new Uint8Array(0))
    expect([...frame]).toEqual([8, 0, 0, 0, 5, 0, 0, 0, ...bytesLE(adler32(Uint8Array.of(5, 0, 0, 0)))])
  })

  it('encodes negative ids and the int32 extremes as two\'s-complement int32 LE', () => {
    const cases: Array<[number, number[]]> = [
      [-1, [0xff, 0xff, 0xff, 0xff]],
      [-2, [0xfe, 0xff, 0xff, 0xff]],
      [INT32_MIN, [0x00, 0x00, 0x00, 0x80]],
      [INT32_MAX, [0xff, 0xff, 0xff, 0x7f]],
      [0x01020304, [0x04, 0x03, 0x02, 0x01]],
    ]
    for (const [id, idBytes] of cases) {
      const data = Uint8Array.of(0, 1, 2)
      const frame = encodeFrame(id, data)
      expect([...frame.subarray(4, 8)]).toEqual(idBytes)
      expect(frame.readInt32LE(4)).toBe(id)
      expect(frame.readUInt32LE(11)).toBe(adler32(Uint8Array.of(...idBytes, 0, 1, 2)))
      expect(Uint8Array.from(frame)).toEqual(refFrame(id, data))
    }
    // zlib.adler32(b'\x00\x00\x00\x80\x00\x01\x02')
    expect(encodeFrame(INT32_MIN, Uint8Array.of(0, 1, 2)).readUInt32LE(11)).toBe(0x020b0084)
  })

  it('refuses ids outside int32 instead of silently sending another id', () => {
    expect(() => encodeFrame(INT32_MAX + 1, new Uint8Array(0))).toThrow()
    expect(() => encodeFrame(INT32_MIN - 1, new Uint8Array(0))).toThrow()
  })

  it('checksums a 1 MiB payload like the reference', () => {
    const data = new Uint8Array(1 << 20).fill(0xff)
    const frame = encodeFrame(7, data)
    expect(frame.readInt32LE(0)).toBe(8 + (1 << 20))
    // zlib.adler32(b'\x07\x00\x00\x00' + b'\xff' * (1 << 20))
    expect(frame.readUInt32LE(8 + (1 << 20))).toBe(0x9538ef18)
  })

  it('accepts a plain Uint8Array (not a Buffer), including a view at an offset, and does not modify it', () => {
    const backing = Uint8Array.of(9, 9, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 9)
    const data = backing.subarray(2, 7)
    const frame = encodeFrame(1, data)
    expect(Uint8Array.from(frame)).toEqual(refFrame(1, Buffer.from('hello', 'ascii')))
    expect([...backing]).toEqual([9, 9, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 9])
  })

  it('returns a fresh buffer per call', () => {
    const a = encodeFrame(1, Uint8Array.of(1))
    const b = encodeFrame(1, Uint8Array.of(1))
    expect(a).not.toBe(b)
    a[8] = 2
    expect(b[8]).toBe(1)
  })
})

describe('HEARTBEAT_FRAME', () => {
  it('is exactly 12 bytes: size 8, id 0, no data, checksum of four zero bytes', () => {
    expect(HEARTBEAT_FRAME.length).toBe(12)
    expect(HEARTBEAT_FRAME.readInt32LE(0)).toBe(8)
    expect(HEARTBEAT_FRAME.readInt32LE(4)).toBe(0)
    expect(HEARTBEAT_FRAME.readUInt32LE(8)).toBe(0x00040001)
    expect([...HEARTBEAT_FRAME]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x04, 0x00])
    expect(Uint8Array.from(HEARTBEAT_FRAME)).toEqual(refFrame(0, new Uint8Array(0)))
  })

  it('equals a freshly encoded heartbeat', () => {
    expect(Buffer.compare(HEARTBEAT_FRAME, encodeFrame(0, new Uint8Array(0)))).toBe(0)
  })
})

describe('frameLength', () => {
  it('is 12 + n', () => {
    expect(frameLength(0)).toBe(12)
    expect(frameLength(5)).toBe(17)
    expect(frameLength(1 << 20)).toBe(12 + (1 << 20))
  })
})

describe('writeFrame', () => {
  it('writes at an offset, leaves the surrounding bytes alone and returns the offset after the frame', () => {
    const target = Buffer.alloc(3 + 17 + 2, 0xaa)
    const end = writeFrame(target, 3, 1, Buffer.from('hello', 'ascii'))
    expect(end).toBe(20)
    expect([...target.subarray(0, 3)]).toEqual([0xaa, 0xaa, 0xaa])
    expect([...target.subarray(20)]).toEqual([0xaa, 0xaa])
    expect(Uint8Array.from(target.subarray(3, 20))).toEqual(refFrame(1, Buffer.from('hello', 'ascii')))
  })

  it('packs several frames back to back, each identical to encodeFrame', () => {
    const messages: Array<[number, Uint8Array]> = [
      [1, Buffer.from('a')],
      [0, new Uint8Array(0)],
      [-7, Buffer.from('longer payload here')],
      [INT32_MAX, new Uint8Array(300).fill(0x5a)],
    ]
    const total = messages.reduce((sum, [, data]) => sum + frameLength(data.length), 0)
    const target = Buffer.alloc(total)
    let offset = 0
    for (const [id, data] of messages) offset = writeFrame(target, offset, id, data)
    expect(offset).toBe(total)
    const expected = Buffer.concat(messages.map(([id, data]) => encodeFrame(id, data)))
    expect(Buffer.compare(target, expected)).toBe(0)
    expect(Uint8Array.from(target)).toEqual(
      Uint8Array.from(Buffer.concat(messages.map(([id, data]) => refFrame(id, data)))),
    )
  })

  it('does not depend on stale bytes already in the target', () => {
    const dirty = Buffer.alloc(17, 0xee)
    writeFrame(dirty, 0, 1, Buffer.from('hello', 'ascii'))
    expect(Uint8Array.from(dirty)).toEqual(refFrame(1, Buffer.from('hello', 'ascii')))
  })
})

function bytesLE(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff]
}
