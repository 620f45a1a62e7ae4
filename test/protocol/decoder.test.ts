import { describe, expect, it } from 'vitest'
import { ProtocolError, SessionClosedError, ZerostateError } from '../../src/errors.js'
import { FrameDecoder } from '../../src/protocol/decoder.js'
import type { Message } from '../../src/protocol/message.js'
import { type PlainMessage, concat, sameMessages, plain, refFrame, sizeBytes } from './reference.js'

const MAX = 1024
const INT32_MIN = -0x80000000
const INT32_MAX = 0x7fffffff

const text = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'utf8'))

const THREE: PlainMessage[] = [
  { id: 1, data: text('hello') },
  { id: 0, data: new Uint8Array(0) },
  { id: -42, data: text('third frame, a little longer') },
]
const THREE_BYTES = concat(THREE.map((m) => refFrame(m.id, m.data)))

/** Feeds every chunk; stops at (and returns) the first error. */
function feed(decoder: FrameDecoder, chunks: readonly Buffer[]): { out: Message[]; error: ProtocolError | null } {
  const out: Message[] = []
  for (const chunk of chunks) {
    const error = decoder.push(chunk, out)
    if (error) return { out, error }
  }
  return { out, error: null }
}

function expectProtocolError(error: ProtocolError | null, code: ProtocolError['code']): void {
  expect(error).toBeInstanceOf(ProtocolError)
  expect(error).toBeInstanceOf(SessionClosedError)
  expect(error).toBeInstanceOf(ZerostateError)
  expect(error).toBeInstanceOf(Error)
  expect(error?.code).toBe(code)
  expect(error?.message.length).toBeGreaterThan(0)
}

function withChecksum(frame: Uint8Array, sum: number): Buffer {
  const copy = Buffer.from(frame)
  copy.writeUInt32LE(sum >>> 0, copy.length - 4)
  return copy
}

describe('FrameDecoder: streaming', () => {
  it('decodes a 3-frame stream in one chunk', () => {
    const { out, error } = feed(new FrameDecoder(MAX), [THREE_BYTES])
    expect(error).toBeNull()
    expect(sameMessages(out, THREE)).toBeNull()
  })

  it('decodes a 3-frame stream identically when split into two chunks at every byte offset', () => {
    for (let cut = 0; cut <= THREE_BYTES.length; cut++) {
      const decoder = new FrameDecoder(MAX)
      const { out, error } = feed(decoder, [THREE_BYTES.subarray(0, cut), THREE_BYTES.subarray(cut)])
      expect(error, `cut at ${cut}`).toBeNull()
      expect(sameMessages(out, THREE), `cut at ${cut}`).toBeNull()
      expect(decoder.bufferedBytes).toBe(0)
    }
  })

  it('decodes a 3-frame stream identically when split into three chunks at every pair of offsets', () => {
    const n = THREE_BYTES.length
    for (let i = 0; i <= n; i++) {
      for (let j = i; j <= n; j++) {
        const { out, error } = feed(new FrameDecoder(MAX), [
          THREE_BYTES.subarray(0, i),
          THREE_BYTES.subarray(i, j),
          THREE_BYTES.subarray(j),
        ])
        expect(error).toBeNull()
        expect(sameMessages(out, THREE), `cuts at ${i}, ${j}`).toBeNull()
      }
    }
  })

  it('decodes a stream fed one byte at a time', () => {
    const decoder = new FrameDecoder(MAX)
    const out: Message[] = []
    for (let i = 0; i < THREE_BYTES.length; i++) {
      expect(decoder.push(THREE_BYTES.subarray(i, i + 1), out)).toBeNull()
    }
    expect(sameMessages(out, THREE)).toBeNull()
    expect(decoder.bufferedBytes).toBe(0)
  })

  it('emits each frame exactly when its last byte arrives', () => {
    const decoder = new FrameDecoder(MAX)
    const out: Message[] = []
    const ends: number[] = []
    let end = 0
    for (const m of THREE) {
      end += 12 + m.data.length
      ends.push(end)
    }
    for (let i = 0; i < THREE_BYTES.length; i++) {
      decoder.push(THREE_BYTES.subarray(i, i + 1), out)
      expect(out.length, `after byte ${i}`).toBe(ends.filter((e) => e <= i + 1).length)
    }
  })

  it('decodes 100 frames in one chunk, in order', () => {
    const messages: PlainMessage[] = []
    for (let i = 0; i < 100; i++) {
      messages.push({ id: i * 7919 - 300, data: Uint8Array.from({ length: i % 37 }, (_, k) => (i + k) & 0xff) })
    }
    const stream = concat(messages.map((m) => refFrame(m.id, m.data)))
    const decoder = new FrameDecoder(MAX)
    const out: Message[] = []
    expect(decoder.push(stream, out)).toBeNull()
    expect(out).toHaveLength(100)
    expect(sameMessages(out, messages)).toBeNull()
    expect(decoder.bufferedBytes).toBe(0)
  })

  it('appends to the given array without clearing it', () => {
    const out: Message[] = [{ id: 99, data: new Uint8Array(0) }]
    expect(new FrameDecoder(MAX).push(THREE_BYTES, out)).toBeNull()
    expect(sameMessages(out, [{ id: 99, data: new Uint8Array(0) }, ...THREE])).toBeNull()
  })

  it('decodes a frame with a 0-byte payload (heartbeat and non-heartbeat)', () => {
    for (const id of [0, 1, -1]) {
      const { out, error } = feed(new FrameDecoder(MAX), [Buffer.from(refFrame(id, new Uint8Array(0)))])
      expect(error).toBeNull()
      expect(out).toHaveLength(1)
      expect(out[0]!.id).toBe(id)
      expect(out[0]!.data.length).toBe(0)
    }
  })

  it('decodes a 0-byte payload with maxPayload 0', () => {
    const { out, error } = feed(new FrameDecoder(0), [Buffer.from(refFrame(3, new Uint8Array(0)))])
    expect(error).toBeNull()
    expect(sameMessages(out, [{ id: 3, data: new Uint8Array(0) }])).toBeNull()
  })

  it('decodes int32 extreme ids', () => {
    const messages = [
      { id: INT32_MIN, data: text('min') },
      { id: INT32_MAX, data: text('max') },
    ]
    const { out, error } = feed(new FrameDecoder(MAX), [concat(messages.map((m) => refFrame(m.id, m.data)))])
    expect(error).toBeNull()
    expect(sameMessages(out, messages)).toBeNull()
  })

  it('ignores empty chunks at any point', () => {
    const empty = Buffer.alloc(0)
    const chunks = [empty, THREE_BYTES.subarray(0, 2), empty, THREE_BYTES.subarray(2, 10), empty, THREE_BYTES.subarray(10), empty]
    const decoder = new FrameDecoder(MAX)
    const { out, error } = feed(decoder, chunks)
    expect(error).toBeNull()
    expect(sameMessages(out, THREE)).toBeNull()
    expect(decoder.bufferedBytes).toBe(0)
  })

  it('keeps earlier messages intact while later chunks arrive', () => {
    const decoder = new FrameDecoder(MAX)
    const out: Message[] = []
    decoder.push(THREE_BYTES.subarray(0, 20), out)
    const first = out[0]!
    const snapshot = plain(first)
    for (let i = 20; i < THREE_BYTES.length; i++) decoder.push(THREE_BYTES.subarray(i, i + 1), out)
    expect(plain(first)).toEqual(snapshot)
    expect(sameMessages(out, THREE)).toBeNull()
  })
})

describe('FrameDecoder: size limits', () => {
  const tooSmall = [0, 1, 2, 3, 4, 5, 6, 7, -1, -8, INT32_MIN]

  it.each(tooSmall)('size %i is frame-too-small as soon as the 4 size bytes arrive', (size) => {
    const decoder = new FrameDecoder(MAX)
    const out: Message[] = []
    const error = decoder.push(sizeBytes(size), out)
    expectProtocolError(error, 'frame-too-small')
    expect(out).toHaveLength(0)
  })

  it.each(tooSmall)('size %i is frame-too-small when its 4 bytes are split 1+3, 2+2, 3+1 and 1+1+1+1', (size) => {
    const bytes = sizeBytes(size)
    const splits = [[1], [2], [3], [1, 2, 3]]
    for (const cuts of splits) {
      const decoder = new FrameDecoder(MAX)
      const out: Message[] = []
      let start = 0
      for (const cut of cuts) {
        expect(decoder.push(bytes.subarray(start, cut), out)).toBeNull()
        start = cut
      }
      expectProtocolError(decoder.push(bytes.subarray(start), out), 'frame-too-small')
    }
  })

  it('size 8 (empty payload) is not too small', () => {
    const decoder = new FrameDecoder(MAX)
    expect(decoder.push(sizeBytes(8), [])).toBeNull()
    expect(decoder.bufferedBytes).toBe(4)
  })

  const tooLarge = [INT32_MAX, MAX + 8 + 1, MAX + 8 + 2, 0x40000000]

  it.each(tooLarge)('size %i is frame-too-large from the 4 size bytes alone, before any payload', (size) => {
    const decoder = new FrameDecoder(MAX)
    const out: Message[] = []
    const error = decoder.push(sizeBytes(size), out)
    expectProtocolError(error, 'frame-too-large')
    expect(out).toHaveLength(0)
  })

  it.each(tooLarge)('size %i is frame-too-large when its 4 bytes are split', (size) => {
    const bytes = sizeBytes(size)
    for (const cut of [1, 2, 3]) {
      const decoder = new FrameDecoder(MAX)
      expect(decoder.push(bytes.subarray(0, cut), [])).toBeNull()
      expectProtocolError(decoder.push(bytes.subarray(cut), []), 'frame-too-large')
    }
  })

  it('uses the configured maxPayload, including the default 1 MiB', () => {
    const mib = 1 << 20
    expectProtocolError(new FrameDecoder(mib).push(sizeBytes(8 + mib + 1), []), 'frame-too-large')
    expect(new FrameDecoder(mib).push(sizeBytes(8 + mib), [])).toBeNull()
    expectProtocolError(new FrameDecoder(0).push(sizeBytes(9), []), 'frame-too-large')
    expectProtocolError(new FrameDecoder(10).push(sizeBytes(19), []), 'frame-too-large')
    expect(new FrameDecoder(10).push(sizeBytes(18), [])).toBeNull()
  })

  it('accepts a payload of exactly maxPayload bytes', () => {
    const data = Uint8Array.from({ length: MAX }, (_, i) => (i * 31) & 0xff)
    const frame = Buffer.from(refFrame(77, data))
    const { out, error } = feed(new FrameDecoder(MAX), [frame])
    expect(error).toBeNull()
    expect(sameMessages(out, [{ id: 77, data }])).toBeNull()
    // and split across chunks
    const split = feed(new FrameDecoder(MAX), [frame.subarray(0, 6), frame.subarray(6, 500), frame.subarray(500)])
    expect(split.error).toBeNull()
    expect(sameMessages(split.out, [{ id: 77, data }])).toBeNull()
  })

  it('rejects a payload of maxPayload + 1 bytes even when the whole frame is present', () => {
    const frame = Buffer.from(refFrame(77, new Uint8Array(MAX + 1)))
    const { out, error } = feed(new FrameDecoder(MAX), [frame])
    expectProtocolError(error, 'frame-too-large')
    expect(out).toHaveLength(0)
  })

  it('reports a bad size that follows valid frames in the same chunk, after appending those frames', () => {
    for (const [size, code] of [
      [7, 'frame-too-small'],
      [-1, 'frame-too-small'],
      [MAX + 9, 'frame-too-large'],
      [INT32_MAX, 'frame-too-large'],
    ] as const) {
      const out: Message[] = []
      const error = new FrameDecoder(MAX).push(Buffer.concat([THREE_BYTES, sizeBytes(size)]), out)
      expectProtocolError(error, code)
      expect(sameMessages(out, THREE)).toBeNull()
    }
  })

  it('reports a bad size whose bytes complete a chunk that also completes a pending frame', () => {
    const first = Buffer.from(refFrame(5, text('pending')))
    const decoder = new FrameDecoder(MAX)
    const out: Message[] = []
    expect(decoder.push(first.subarray(0, 9), out)).toBeNull()
    const error = decoder.push(Buffer.concat([first.subarray(9), sizeBytes(MAX + 9)]), out)
    expectProtocolError(error, 'frame-too-large')
    expect(sameMessages(out, [{ id: 5, data: text('pending') }])).toBeNull()
  })
})

describe('FrameDecoder: checksum', () => {
  it('reports bad-checksum for a wrong checksum', () => {
    const good = refFrame(1, text('hello'))
    const sum = Buffer.from(good).readUInt32LE(good.length - 4)
    for (const wrong of [0, sum ^ 1, sum ^ 0x80000000, (sum + 1) >>> 0, 0xffffffff]) {
      const out: Message[] = []
      const error = new FrameDecoder(MAX).push(withChecksum(good, wrong), out)
      expectProtocolError(error, 'bad-checksum')
      expect(out).toHaveLength(0)
    }
  })

  it('reports bad-checksum for a corrupted payload or id', () => {
    const good = Buffer.from(refFrame(1, text('hello')))
    for (const index of [4, 7, 8, 12]) {
      const bad = Buffer.from(good)
      bad[index] = bad[index]! ^ 0x10
      expectProtocolError(new FrameDecoder(MAX).push(bad, []), 'bad-checksum')
    }
  })

  it('appends the frames before a bad one and stops at it', () => {
    const bad = withChecksum(refFrame(4, text('bad')), 0x12345678)
    const after = refFrame(5, text('never seen'))
    const out: Message[] = []
    const error = new FrameDecoder(MAX).push(concat([THREE_BYTES, bad, after]), out)
    expectProtocolError(error, 'bad-checksum')
    expect(sameMessages(out, THREE)).toBeNull()
  })

  it('appends the frames before a bad one when the stream is split at every offset', () => {
    const stream = concat([THREE_BYTES, withChecksum(refFrame(4, text('bad')), 0)])
    for (let cut = 0; cut <= stream.length; cut++) {
      const { out, error } = feed(new FrameDecoder(MAX), [stream.subarray(0, cut), stream.subarray(cut)])
      expectProtocolError(error, 'bad-checksum')
      expect(sameMessages(out, THREE), `cut at ${cut}`).toBeNull()
    }
  })

  it('reports bad-checksum for a bad frame that spans several chunks', () => {
    const bad = withChecksum(refFrame(9, new Uint8Array(100).fill(3)), 1)
    const { out, error } = feed(new FrameDecoder(MAX), [bad.subarray(0, 3), bad.subarray(3, 50), bad.subarray(50, 111), bad.subarray(111)])
    expectProtocolError(error, 'bad-checksum')
    expect(out).toHaveLength(0)
  })

  it('reports bad-checksum for a heartbeat with a wrong checksum', () => {
    const bad = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    expectProtocolError(new FrameDecoder(MAX).push(bad, []), 'bad-checksum')
  })
})

describe('FrameDecoder: buffering', () => {
  it('holds only the bytes fed so far for a large declared frame fed 1 byte at a time (nothing pre-allocated)', () => {
    const maxPayload = 64 * 1024
    const data = Uint8Array.from({ length: maxPayload }, (_, i) => (i * 13 + 7) & 0xff)
    const frame = Buffer.from(refFrame(123, data))
    const decoder = new FrameDecoder(maxPayload)
    const out: Message[] = []
    // One expect per byte would dominate the run time: record the first anomaly instead.
    let anomaly: string | null = null
    for (let i = 0; i < frame.length - 1 && anomaly === null; i++) {
      const error = decoder.push(frame.subarray(i, i + 1), out)
      if (error) anomaly = `error after ${i + 1} bytes: ${error.code}`
      else if (decoder.bufferedBytes !== i + 1) anomaly = `bufferedBytes ${decoder.bufferedBytes} after ${i + 1} bytes`
    }
    expect(anomaly).toBeNull()
    expect(out).toHaveLength(0)
    expect(decoder.push(frame.subarray(frame.length - 1), out)).toBeNull()
    expect(decoder.bufferedBytes).toBe(0)
    expect(sameMessages(out, [{ id: 123, data }])).toBeNull()
  })

  it('holds just the declared size field for a 1 MiB frame announced but not sent', () => {
    const decoder = new FrameDecoder(1 << 20)
    expect(decoder.push(sizeBytes(8 + (1 << 20)), [])).toBeNull()
    expect(decoder.bufferedBytes).toBe(4)
    expect(decoder.push(Buffer.from([1, 2]), [])).toBeNull()
    expect(decoder.bufferedBytes).toBe(6)
  })

  it('allocates nothing for a declared-but-unsent frame (memory, not just bufferedBytes)', () => {
    // 64 live decoders, each told a 4 MiB frame is coming: pre-allocating would take 256 MiB.
    const maxPayload = 4 << 20
    const before = process.memoryUsage().arrayBuffers
    const decoders: FrameDecoder[] = []
    for (let i = 0; i < 64; i++) {
      const decoder = new FrameDecoder(maxPayload)
      expect(decoder.push(Buffer.concat([sizeBytes(8 + maxPayload), Buffer.from([i, 0, 0, 0, 1, 2, 3])]), [])).toBeNull()
      decoders.push(decoder)
    }
    const grown = process.memoryUsage().arrayBuffers - before
    expect(grown).toBeLessThan(32 << 20)
    expect(decoders.every((d) => d.bufferedBytes === 11)).toBe(true)
  })

  it('holds only the incomplete tail after frames complete', () => {
    const decoder = new FrameDecoder(MAX)
    const out: Message[] = []
    const tail = Buffer.from(refFrame(8, text('tail'))).subarray(0, 10)
    expect(decoder.push(Buffer.concat([THREE_BYTES, tail]), out)).toBeNull()
    expect(out).toHaveLength(3)
    expect(decoder.bufferedBytes).toBe(10)
  })

  it('never holds more than the bytes of the one incomplete frame (or fewer than 4 size bytes)', () => {
    const messages = Array.from({ length: 20 }, (_, i) => ({ id: i, data: new Uint8Array((i * 17) % 90).fill(i) }))
    const stream = concat(messages.map((m) => refFrame(m.id, m.data)))
    for (const step of [1, 2, 3, 5, 7, 11, 13, 64, 100]) {
      const decoder = new FrameDecoder(MAX)
      const out: Message[] = []
      let fed = 0
      while (fed < stream.length) {
        const chunk = stream.subarray(fed, fed + step)
        expect(decoder.push(chunk, out)).toBeNull()
        fed += chunk.length
        const consumed = out.reduce((sum, m) => sum + 12 + m.data.length, 0)
        expect(decoder.bufferedBytes, `step ${step}, fed ${fed}`).toBe(fed - consumed)
        const nextFrame = out.length < messages.length ? 12 + messages[out.length]!.data.length : 0
        expect(decoder.bufferedBytes).toBeLessThan(Math.max(nextFrame, 1))
      }
      expect(sameMessages(out, messages)).toBeNull()
    }
  })
})
