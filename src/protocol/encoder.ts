import { frameLength, writeFrame } from './frameWriter.js'
import { HEARTBEAT_ID } from './message.js'

/**
 * The server's face of the frame writer: frames in Buffers, taken from Node's buffer pool, as
 * sockets want them. The encoding itself is frameWriter.ts, which the clients share.
 */

export { frameLength, writeFrame } from './frameWriter.js'

/** One frame in a buffer of its own. */
export function encodeFrame(id: number, data: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(frameLength(data.length))
  writeFrame(frame, 0, id, data)
  return frame
}

/** A heartbeat never changes, so every write of one shares this buffer. */
export const HEARTBEAT_FRAME: Buffer = encodeFrame(HEARTBEAT_ID, new Uint8Array(0))
