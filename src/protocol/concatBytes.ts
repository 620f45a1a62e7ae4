import { allocateBytes } from './bytePool.js'

/** Where joined bytes come from: the pool below, or Node's `Buffer.allocUnsafe` on the server. */
export type Allocate = (byteLength: number) => Uint8Array

/** `parts` joined into one new Uint8Array of `byteLength` bytes (their total): Buffer.concat without Buffer. */
export function concatBytes(parts: readonly Uint8Array[], byteLength: number, allocate: Allocate = allocateBytes): Uint8Array {
  const joined = allocate(byteLength)
  let offset = 0
  for (const part of parts) {
    joined.set(part, offset)
    offset += part.length
  }
  return joined
}
