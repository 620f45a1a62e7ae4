/**
 * Textbook Adler-32 (RFC 1950, section 9): both sums reduced modulo 65521 after every byte. It is
 * the tests' and load runners' own checksum, independent of src/ (which it checks), so a bug in
 * src/protocol cannot hide behind a shared implementation.
 */

const MOD_ADLER = 65521

/** Adler-32 of `bytes`, as an unsigned 32-bit number. */
export function adler32(bytes: Uint8Array): number {
  let a = 1
  let b = 0
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]!) % MOD_ADLER
    b = (b + a) % MOD_ADLER
  }
  return b * 65536 + a
}
