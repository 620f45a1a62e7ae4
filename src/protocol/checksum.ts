import ADLER32 from 'adler-32'

/**
 * Adler-32 of `bytes[start, end)`, as the unsigned number the wire carries.
 * The id and the payload sit side by side in a frame, so one call covers both.
 */
export function checksum(bytes: Uint8Array, start: number, end: number): number {
  return ADLER32.buf(bytes.subarray(start, end)) >>> 0
}
