import { frameChecksum } from './checksum.js'
import { CHECKSUM_SIZE, HEADER_SIZE, HEARTBEAT_ID, SIZE_FIELD_OVERHEAD } from './message.js'

/** Bytes a frame with `payloadLength` bytes of data takes on the wire. */
export function frameLength(payloadLength: number): number {
  return HEADER_SIZE + payloadLength + CHECKSUM_SIZE
}

/**
 * Writes one frame into `target` at `offset` and returns the offset after it.
 * Encoding in place lets a caller pack many frames into one buffer and one write.
 */
export function writeFrame(target: Buffer, offset: number, id: number, data: Uint8Array): number {
  const n = data.length
  target.writeInt32LE(n + SIZE_FIELD_OVERHEAD, offset)
  target.writeInt32LE(id, offset + 4)
  target.set(data, offset + HEADER_SIZE)
  const end = offset + HEADER_SIZE + n
  target.writeUInt32LE(frameChecksum(target, offset + 4, data), end)
  return end + CHECKSUM_SIZE
}

/** One frame in a buffer of its own. */
export function encodeFrame(id: number, data: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(frameLength(data.length))
  writeFrame(frame, 0, id, data)
  return frame
}

/** A heartbeat never changes, so every write of one shares this buffer. */
export const HEARTBEAT_FRAME: Buffer = encodeFrame(HEARTBEAT_ID, new Uint8Array(0))
