import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../src/errors.js'
import { FrameDecoder } from '../../src/protocol/decoder.js'
import { encodeFrame, frameLength, writeFrame } from '../../src/protocol/encoder.js'
import type { Message } from '../../src/protocol/message.js'
import { type PlainMessage, concat, cutAt, refFrame, sameMessages, sizeBytes } from './reference.js'

const INT32_MIN = -0x80000000
const INT32_MAX = 0x7fffffff
const MAX_DATA = 2048

const int32 = fc.integer({ min: INT32_MIN, max: INT32_MAX })

/** Payloads of 0..2048 bytes: mostly short, often the full range. */
const payload = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 16 }),
  fc.uint8Array({ minLength: 0, maxLength: MAX_DATA, size: 'max' }),
  fc.constant(new Uint8Array(0)),
)

const message: fc.Arbitrary<PlainMessage> = fc.record({
  id: fc.oneof(int32, fc.constantFrom(0, 1, -1, INT32_MIN, INT32_MAX)),
  data: payload,
})

/** Stream cut points: either arbitrary offsets (fractions of the length) or a fixed chunk size. */
type Cutting = { kind: 'offsets'; fractions: number[] } | { kind: 'step'; step: number }

const cutting: fc.Arbitrary<Cutting> = fc.oneof(
  fc.record({
    kind: fc.constant('offsets' as const),
    fractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
  }),
  fc.record({ kind: fc.constant('step' as const), step: fc.integer({ min: 1, max: 64 }) }),
)

function cut(bytes: Buffer, how: Cutting): Buffer[] {
  if (how.kind === 'step') {
    const chunks: Buffer[] = []
    for (let i = 0; i < bytes.length; i += how.step) chunks.push(bytes.subarray(i, i + how.step))
    if (chunks.length === 0) chunks.push(bytes)
    return chunks
  }
  const offsets = how.fractions.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b)
  return cutAt(bytes, offsets)
}

/** Copies every chunk into its own buffer, as a socket would hand them out. */
function ownBuffers(chunks: readonly Buffer[]): Buffer[] {
  return chunks.map((c) => Buffer.from(c))
}

describe('properties', () => {
  it('(a) any valid frame stream, cut anywhere, decodes to the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 24 }),
        fc.nat({ max: 4096 }),
        cutting,
        (messages, slack, how) => {
          const maxPayload = messages.reduce((m, x) => Math.max(m, x.data.length), 0) + (slack % 3 === 0 ? 0 : slack)
          const stream = concat(messages.map((m) => refFrame(m.id, m.data)))
          const chunks = ownBuffers(cut(stream, how))
          const decoder = new FrameDecoder(maxPayload)
          const out: Message[] = []
          let fed = 0
          for (const chunk of chunks) {
            expect(decoder.push(chunk, out)).toBeNull()
            fed += chunk.length
            // Invariant: the decoder holds exactly the bytes of the one incomplete frame.
            const consumed = out.reduce((sum, m) => sum + frameLength(m.data.length), 0)
            expect(decoder.bufferedBytes).toBe(fed - consumed)
            if (out.length < messages.length) {
              expect(decoder.bufferedBytes).toBeLessThan(frameLength(messages[out.length]!.data.length))
            }
          }
          expect(decoder.bufferedBytes).toBe(0)
          expect(sameMessages(out, messages)).toBeNull()
        },
      ),
      { numRuns: 300 },
    )
  })

  it('(b) encode → decode is the identity for a single frame, and encodeFrame matches the reference bytes', () => {
    fc.assert(
      fc.property(message, cutting, (m, how) => {
        const frame = encodeFrame(m.id, m.data)
        expect(frame.length).toBe(frameLength(m.data.length))
        expect(Buffer.compare(frame, Buffer.from(refFrame(m.id, m.data)))).toBe(0)
        const out: Message[] = []
        const decoder = new FrameDecoder(m.data.length)
        for (const chunk of ownBuffers(cut(frame, how))) expect(decoder.push(chunk, out)).toBeNull()
        expect(out).toHaveLength(1)
        expect(out[0]!.id).toBe(m.id)
        expect(Buffer.compare(Buffer.from(out[0]!.data), Buffer.from(m.data))).toBe(0)
        expect(decoder.bufferedBytes).toBe(0)
      }),
      { numRuns: 500 },
    )
  })

  it('(b′) writeFrame packs many frames that decode back to the same messages', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 16 }), (messages) => {
        const total = messages.reduce((s, m) => s + frameLength(m.data.length), 0)
        const target = Buffer.alloc(total)
        let offset = 0
        for (const m of messages) offset = writeFrame(target, offset, m.id, m.data)
        expect(offset).toBe(total)
        const out: Message[] = []
        expect(new FrameDecoder(MAX_DATA).push(target, out)).toBeNull()
        expect(sameMessages(out, messages)).toBeNull()
      }),
      { numRuns: 200 },
    )
  })

  it('(c) every invalid size is reported with the right code after exactly its 4 bytes', () => {
    const maxPayload = fc.oneof(fc.constantFrom(0, 1, 1024, 1 << 20), fc.integer({ min: 0, max: 1 << 24 }))
    const invalid = maxPayload.chain((max) =>
      fc
        .oneof(
          int32,
          fc.integer({ min: INT32_MIN, max: 7 }),
          fc.integer({ min: Math.min(max + 9, INT32_MAX), max: INT32_MAX }),
          fc.constantFrom(7, 0, -1, INT32_MIN, INT32_MAX, max + 9),
        )
        .filter((size) => size < 8 || size - 8 > max)
        .map((size) => ({ max, size })),
    )
    fc.assert(
      fc.property(
        invalid,
        fc.array(message, { maxLength: 3 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
        ({ max, size }, before, sizeCuts) => {
          const valid = before.filter((m) => m.data.length <= max)
          const prefix = concat(valid.map((m) => refFrame(m.id, m.data)))
          const sizeField = sizeBytes(size)
          const decoder = new FrameDecoder(max)
          const out: Message[] = []
          // the valid frames, then the size field split at the chosen points: no error until its 4th byte
          const cuts = [...sizeCuts].sort((a, b) => a - b)
          const pieces: Buffer[] = [Buffer.concat([prefix, sizeField.subarray(0, cuts[0] ?? 4)])]
          for (let i = 0; i < cuts.length; i++) pieces.push(sizeField.subarray(cuts[i]!, cuts[i + 1] ?? 4))
          let error: ProtocolError | null = null
          for (let i = 0; i < pieces.length; i++) {
            error = decoder.push(pieces[i]!, out)
            if (i < pieces.length - 1) expect(error).toBeNull()
          }
          expect(error).toBeInstanceOf(ProtocolError)
          expect(error?.code).toBe(size < 8 ? 'frame-too-small' : 'frame-too-large')
          expect(sameMessages(out, valid)).toBeNull()
        },
      ),
      { numRuns: 500 },
    )
  })

  it('(c′) a valid size is never reported after its 4 bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 24 }), fc.nat(), (max, r) => {
        const size = 8 + (r % (max + 1))
        expect(new FrameDecoder(max).push(sizeBytes(size), [])).toBeNull()
      }),
      { numRuns: 300 },
    )
  })

  it('(d) flipping any single bit in the id, payload or checksum gives bad-checksum', () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 0, max: 7 }), cutting, (m, at, bit, how) => {
        const frame = Buffer.from(refFrame(m.id, m.data))
        // bytes 4 .. end: id, data and checksum
        const index = 4 + (at % (frame.length - 4))
        frame[index] = frame[index]! ^ (1 << bit)
        const decoder = new FrameDecoder(m.data.length)
        const out: Message[] = []
        let error: ProtocolError | null = null
        for (const chunk of ownBuffers(cut(frame, how))) {
          error = decoder.push(chunk, out)
          if (error) break
        }
        expect(error).toBeInstanceOf(ProtocolError)
        expect(error?.code).toBe('bad-checksum')
        expect(out).toHaveLength(0)
      }),
      { numRuns: 500 },
    )
  })

  it('(d′) flipping any single bit in the size field never yields an accepted frame', () => {
    fc.assert(
      fc.property(
        message,
        fc.integer({ min: 0, max: 31 }),
        fc.nat({ max: 4096 }),
        (m, bit, slack) => {
          const frame = Buffer.from(refFrame(m.id, m.data))
          frame[bit >> 3] = frame[bit >> 3]! ^ (1 << (bit & 7))
          const decoder = new FrameDecoder(m.data.length + slack)
          const out: Message[] = []
          const error = decoder.push(frame, out)
          // Either an error, or no frame at all (an incomplete one waiting for more bytes).
          expect(error !== null || out.length === 0).toBe(true)
          if (error === null) expect(decoder.bufferedBytes).toBe(frame.length)
          const size = frame.readInt32LE(0)
          if (size < 8) expect(error?.code).toBe('frame-too-small')
          else if (size - 8 > m.data.length + slack) expect(error?.code).toBe('frame-too-large')
        },
      ),
      { numRuns: 500 },
    )
  })
})
