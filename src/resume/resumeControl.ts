import type { Message } from '../protocol/message.js'

/**
 * The resume control frames, exchanged only when the server has `resume` on (zero clients never
 * see one). Their ids sit in the range zerostate reserves (-1 to -99), after the rooms'.
 *
 * - `TOKEN` server → client: the 16-byte resume token, on activation and again after every resume
 *   (a token opens its session once).
 * - `RESUME` client → server, as the first frame of a new connection: the token, then how many
 *   frames the client has received (uint32, big-endian).
 * - `RESUMED` server → client, first on the resumed connection: how many frames the server had
 *   read from the client (uint32, big-endian), so the client resends the rest. A new `TOKEN`
 *   follows, then the frames the client missed. Client → server, empty: the client has the new
 *   token, so the one it presented is dead (until then, should the new connection be lost, the
 *   presented token opens the session again).
 * - `GOODBYE` both ways: the session ends for good, so nobody should wait to resume it. From the
 *   server it carries the close reason (ASCII), from the client nothing.
 *
 * Both counts leave out heartbeats and these four frames, and wrap at 2^32.
 */
export const RESUME_CONTROL_IDS = Object.freeze({ TOKEN: -10, RESUME: -11, RESUMED: -12, GOODBYE: -13 })

/** Bytes of a resume token: 128 random bits. */
export const TOKEN_BYTES = 16

export function isResumeControlId(id: number): boolean {
  return id <= RESUME_CONTROL_IDS.TOKEN && id >= RESUME_CONTROL_IDS.GOODBYE
}

export function tokenFrame(token: Uint8Array): Message {
  return { id: RESUME_CONTROL_IDS.TOKEN, data: token }
}

export function resumeFrame(token: Uint8Array, received: number): Message {
  const data = new Uint8Array(TOKEN_BYTES + 4)
  data.set(token)
  new DataView(data.buffer).setUint32(TOKEN_BYTES, received >>> 0)
  return { id: RESUME_CONTROL_IDS.RESUME, data }
}

/** What a `RESUME` frame carries, or null when its payload is not a token and a count. */
export function parseResume(data: Uint8Array): { token: Uint8Array; received: number } | null {
  if (data.length !== TOKEN_BYTES + 4) return null
  return { token: data.subarray(0, TOKEN_BYTES), received: readUint32(data, TOKEN_BYTES) }
}

/** The client's confirmation that it holds the new token. */
export const TOKEN_RECEIVED: Message = Object.freeze({ id: RESUME_CONTROL_IDS.RESUMED, data: new Uint8Array(0) })

export function resumedFrame(read: number): Message {
  const data = new Uint8Array(4)
  new DataView(data.buffer).setUint32(0, read >>> 0)
  return { id: RESUME_CONTROL_IDS.RESUMED, data }
}

/** The count a `RESUMED` frame carries, or null for a payload of another length. */
export function parseResumed(data: Uint8Array): number | null {
  return data.length === 4 ? readUint32(data, 0) : null
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function goodbyeFrame(reason = ''): Message {
  return { id: RESUME_CONTROL_IDS.GOODBYE, data: encoder.encode(reason) }
}

export function goodbyeReason(data: Uint8Array): string {
  return decoder.decode(data)
}

function readUint32(data: Uint8Array, offset: number): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(offset)
}
