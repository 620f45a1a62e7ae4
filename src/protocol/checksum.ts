import ADLER32 from 'adler-32'

/**
 * Adler-32 of a frame's 4 id bytes (at `bytes[idOffset]`) followed by `data`, as the unsigned
 * number the wire carries. The id bytes are folded in by hand and passed as the seed, so the
 * payload view the decoder creates anyway is the only view: no second subarray per frame.
 */
export function frameChecksum(bytes: Uint8Array, idOffset: number, data: Uint8Array): number {
  let a = 1
  let b = 0
  for (let i = idOffset; i < idOffset + 4; i++) {
    a += bytes[i]!
    b += a
  }
  // Four bytes cannot overflow the sums, so no reduction is due yet.
  return ADLER32.buf(data, (b << 16) | a) >>> 0
}
