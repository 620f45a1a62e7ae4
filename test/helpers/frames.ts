/**
 * Bytes for raw peers to send: frames (src's encoder, which test/protocol checks against an
 * independent reference), a heartbeat written out by hand, size fields, and each kind of bad frame.
 */
import { encodeFrame } from '../../src/protocol/encoder.js'

/** One encoded frame; a string payload is taken as UTF-8. */
export function frame(id: number, data: Uint8Array | string = new Uint8Array(0)): Buffer {
  return encodeFrame(id, typeof data === 'string' ? Buffer.from(data) : data)
}

/** A heartbeat on the wire, written out by hand: size 8, id 0, Adler-32 of four zero bytes. */
export const HEARTBEAT_BYTES: Buffer = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x04, 0x00])

/** A 4-byte little-endian int32, e.g. a size field. */
export function int32(value: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32LE(value | 0, 0)
  return b
}

/** Bytes that close a connection with that protocol error. */
export function badFrame(reason: 'frame-too-small' | 'frame-too-large' | 'bad-checksum'): Buffer {
  if (reason === 'bad-checksum') {
    const bytes = frame(1, 'corrupted')
    bytes[bytes.length - 1]! ^= 0xff
    return bytes
  }
  // The size field alone decides: 4 (< 8) or 0x7fffffff (far above maxPayload).
  return int32(reason === 'frame-too-small' ? 4 : 0x7fffffff)
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0
}
