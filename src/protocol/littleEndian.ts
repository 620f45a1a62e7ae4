/**
 * Little-endian 32-bit fields on plain Uint8Arrays, by hand, so the codec needs neither Node's
 * Buffer methods nor a DataView per chunk and runs the same in a browser. Callers check the
 * bounds: these read and write exactly 4 bytes at `offset`.
 */

/** The int32 at `offset`. */
export function readInt32LE(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)
}

/** The uint32 at `offset`. */
export function readUint32LE(bytes: Uint8Array, offset: number): number {
  return readInt32LE(bytes, offset) >>> 0
}

/** Writes the low 32 bits of `value` (an int32 or a uint32: the bytes are the same) at `offset`. */
export function write32LE(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value
  bytes[offset + 1] = value >>> 8
  bytes[offset + 2] = value >>> 16
  bytes[offset + 3] = value >>> 24
}
