import { allocateBytes } from './bytePool.js'

/** `parts` joined into one new Uint8Array of `byteLength` bytes (their total): Buffer.concat without Buffer. */
export function concatBytes(parts: readonly Uint8Array[], byteLength: number): Uint8Array {
  const joined = allocateBytes(byteLength)
  let offset = 0
  for (const part of parts) {
    joined.set(part, offset)
    offset += part.length
  }
  return joined
}
