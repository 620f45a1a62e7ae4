/**
 * zero's wire format written out again, independently of src/, for the load runners: an encoder
 * (checksummed by the tests' textbook Adler-32, test/helpers/adler32.ts) and an oracle that reads
 * a byte stream the way the spec says the server must and names the close reason the server owes it.
 *
 *   size int32 LE (8 + n) | id int32 LE | data (n bytes) | Adler-32(id bytes + data) uint32 LE
 */
import { adler32 } from '../test/helpers/adler32.js'

export const HEADER = 8
export const TRAILER = 4

/** Close reasons a byte stream can earn, as `onDisconnect` reports them (`error.code`). */
export type StreamReason = 'client-closed' | 'reset' | 'frame-too-small' | 'frame-too-large' | 'bad-checksum'

/** Bytes a frame with an `n`-byte payload takes on the wire. */
export function wireLength(n: number): number {
  return HEADER + n + TRAILER
}

/** Writes one frame at `offset` and returns the offset after it. */
export function putFrame(target: Buffer, offset: number, id: number, data: Uint8Array): number {
  const n = data.length
  target.writeInt32LE(n + 8, offset)
  target.writeInt32LE(id | 0, offset + 4)
  target.set(data, offset + HEADER)
  const end = offset + HEADER + n
  target.writeUInt32LE(adler32(target.subarray(offset + 4, end)), end)
  return end + TRAILER
}

export function encode(id: number, data: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(wireLength(data.length))
  putFrame(out, 0, id, data)
  return out
}

export function int32le(value: number): Buffer {
  const out = Buffer.allocUnsafe(4)
  out.writeInt32LE(value | 0, 0)
  return out
}

export const INT32_MIN = -0x80000000
export const INT32_MAX = 0x7fffffff

/**
 * Size fields at every boundary the decoder has: below the 8-byte minimum (including negatives),
 * the empty frame, and payloads of maxPayload - 1, maxPayload and maxPayload + 1.
 */
export function boundarySizes(maxPayload: number): number[] {
  return [0, 1, 2, 3, 4, 5, 6, 7, 8, maxPayload + 7, maxPayload + 8, maxPayload + 9, INT32_MIN, INT32_MAX, -1]
}

/** What the oracle found in a stream. */
export interface StreamVerdict {
  /** Reason owed if the client then sends a FIN. */
  reason: StreamReason
  /** Complete valid frames before the first invalid one (heartbeats included). */
  validFrames: number
  /** Byte offset of the first invalid frame, or -1. */
  errorAt: number
}

/**
 * Decodes `stream` with the protocol rules and returns the reason the server owes it when the
 * client ends with a FIN after it: the first invalid frame decides (size < 8 is `frame-too-small`,
 * size - 8 > maxPayload is `frame-too-large`, both judged from the 4 size bytes alone; a wrong
 * Adler-32 is `bad-checksum`); a stream of valid frames, with or without an incomplete tail, is
 * `client-closed`. `onFrame` sees each valid frame's byte range and id.
 */
export function judgeStream(
  stream: Uint8Array,
  maxPayload: number,
  onFrame?: (start: number, end: number, id: number) => void,
): StreamVerdict {
  const view = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength)
  let offset = 0
  let validFrames = 0
  while (view.length - offset >= 4) {
    const size = view.readInt32LE(offset)
    if (size < 8) return { reason: 'frame-too-small', validFrames, errorAt: offset }
    if (size - 8 > maxPayload) return { reason: 'frame-too-large', validFrames, errorAt: offset }
    const end = offset + 4 + size
    if (end > view.length) break
    if (view.readUInt32LE(end - 4) !== adler32(view.subarray(offset + 4, end - 4))) {
      return { reason: 'bad-checksum', validFrames, errorAt: offset }
    }
    validFrames++
    onFrame?.(offset, end, view.readInt32LE(offset + 4))
    offset = end
  }
  return { reason: 'client-closed', validFrames, errorAt: -1 }
}
