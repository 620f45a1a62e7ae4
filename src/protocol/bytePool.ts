/**
 * Small Uint8Arrays carved out of a shared slab, as Node's Buffer.allocUnsafe does from its pool:
 * a fresh typed array over 64 bytes costs a backing-store allocation and a zero fill, which the
 * decoder would otherwise pay for every frame that spans chunks. The bytes are not zeroed (the
 * caller overwrites them all), and a view keeps its slab alive, as a pooled Buffer does.
 */

const SLAB_SIZE = 8 * 1024
/** Larger requests get an array of their own, so one long-lived view cannot pin much of a slab. */
const POOLED_LIMIT = SLAB_SIZE >>> 1

let slab = new Uint8Array(SLAB_SIZE)
let used = 0

/** `byteLength` bytes of unspecified content. */
export function allocateBytes(byteLength: number): Uint8Array {
  if (byteLength >= POOLED_LIMIT) return new Uint8Array(byteLength)
  if (used + byteLength > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE)
    used = 0
  }
  const bytes = slab.subarray(used, used + byteLength)
  // Keep each view 8-byte aligned, as Node's pool does, so later views start on a word.
  used = (used + byteLength + 7) & ~7
  return bytes
}
