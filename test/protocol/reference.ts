/**
 * Independent reference implementations for the protocol tests. Nothing here imports src/ (but its
 * Message type): the checksum is the tests' textbook Adler-32 (test/helpers/adler32.ts) and frames
 * are built field by field with a DataView, so a bug in src/protocol cannot hide behind a shared helper.
 */
import type { Message } from '../../src/protocol/message.js'
import { adler32 } from '../helpers/adler32.js'

/** One zero frame, built by hand: size LE, id LE, data, Adler-32 LE of id bytes + data. */
export function refFrame(id: number, data: Uint8Array): Uint8Array {
  const n = data.length
  const frame = new Uint8Array(4 + 4 + n + 4)
  const view = new DataView(frame.buffer)
  view.setInt32(0, 8 + n, true)
  view.setInt32(4, id, true)
  frame.set(data, 8)
  view.setUint32(8 + n, adler32(frame.subarray(4, 8 + n)), true)
  return frame
}

/** Concatenates byte arrays into one Buffer. */
export function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)))
}

/** Four little-endian bytes of an int32 size field. */
export function sizeBytes(size: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32LE(size, 0)
  return b
}

/** Cuts `bytes` at the given (sorted, in-range) offsets into consecutive chunks. */
export function cutAt(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const chunks: Buffer[] = []
  let start = 0
  for (const cut of offsets) {
    chunks.push(bytes.subarray(start, cut))
    start = cut
  }
  chunks.push(bytes.subarray(start))
  return chunks
}

/** A plain, copied form of a message, so comparisons never depend on views into shared buffers. */
export interface PlainMessage {
  id: number
  data: Uint8Array
}

export function plain(message: Message): PlainMessage {
  return { id: message.id, data: Uint8Array.from(message.data) }
}

/**
 * Same ids and byte-identical payloads, in order. Compares payloads with Buffer.compare: a deep
 * equality on large typed arrays is slow, and a mismatch report names the first differing message.
 */
export function sameMessages(actual: readonly Message[], expected: readonly PlainMessage[]): string | null {
  if (actual.length !== expected.length) return `${actual.length} messages, expected ${expected.length}`
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!
    const e = expected[i]!
    if (a.id !== e.id) return `message ${i}: id ${a.id}, expected ${e.id}`
    const ab = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)
    const eb = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength)
    if (Buffer.compare(ab, eb) !== 0) return `message ${i}: payload differs (${ab.length} vs ${eb.length} bytes)`
  }
  return null
}
