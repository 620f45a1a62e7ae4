import { frameChecksum } from './checksum.js'
import { write32LE } from './littleEndian.js'
import { CHECKSUM_SIZE, HEADER_SIZE, HEARTBEAT_ID, SIZE_FIELD_OVERHEAD } from './message.js'

/**
 * Frame encoding on plain Uint8Arrays, for every environment: the server's encoder.ts wraps it
 * in Buffers for sockets, the clients (TCP and WebSocket, Node and browser) use it as it is.
 */

const INT32_MIN = -0x80000000
const INT32_MAX = 0x7fffffff

/** Bytes a frame with `payloadLength` bytes of data takes on the wire. */
export function frameLength(payloadLength: number): number {
  return HEADER_SIZE + payloadLength + CHECKSUM_SIZE
}

/**
 * Writes one frame into `target` at `offset` and returns the offset after it. Encoding in place
 * lets a caller pack many frames into one buffer and one write. An id outside int32 throws a
 * RangeError rather than silently going out as another id.
 */
export function writeFrame(target: Uint8Array, offset: number, id: number, data: Uint8Array): number {
  if (!(id >= INT32_MIN && id <= INT32_MAX)) throw new RangeError(`frame id ${id} is outside int32`)
  const n = data.length
  const end = offset + HEADER_SIZE + n
  if (offset < 0 || end + CHECKSUM_SIZE > target.length) {
    throw new RangeError(`a ${n}-byte frame does not fit at offset ${offset} of ${target.length} bytes`)
  }
  write32LE(target, offset, n + SIZE_FIELD_OVERHEAD)
  write32LE(target, offset + 4, id)
  target.set(data, offset + HEADER_SIZE)
  write32LE(target, end, frameChecksum(target, offset + 4, data))
  return end + CHECKSUM_SIZE
}

/** One frame in a Uint8Array of its own. */
export function frameBytes(id: number, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(frameLength(data.length))
  writeFrame(frame, 0, id, data)
  return frame
}

/** A heartbeat never changes, so every write of one shares these bytes. */
export const HEARTBEAT_BYTES: Uint8Array = frameBytes(HEARTBEAT_ID, new Uint8Array(0))
