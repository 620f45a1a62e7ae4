import type { Message } from '../protocol/message.js'

/**
 * The room control protocol: frames with negative ids, their payload UTF-8 JSON. A client that
 * knows nothing of rooms never sees one: the server sends them only to a session that joined
 * through `JOIN`.
 *
 * client → server: `JOIN` `{ "name": "tictactoe", "options": {…} }` (join or create) or
 * `{ "roomId": "…" }` (that room); `LEAVE` `{ "roomId": "…" }` (or `{}`: every room).
 * server → client: `JOINED` `{ "roomId", "name" }`; `LEFT` `{ "roomId", "reason" }`;
 * `REFUSED` `{ "code", "message" }` (a {@link RoomErrorCode}).
 */
export const ROOM_CONTROL_IDS = Object.freeze({ JOIN: -1, LEAVE: -2, JOINED: -3, LEFT: -4, REFUSED: -5 })

/** Ids the room control protocol reserves; games pick positive ids (0 is the heartbeat). */
export function isControlId(id: number): boolean {
  return id < 0 && id >= -99
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function controlFrame(id: number, body: Record<string, unknown>): Message {
  return { id, data: encoder.encode(JSON.stringify(body)) }
}

/** The JSON object a control frame carries, or null if it carries anything else. */
export function controlBody(message: Message): Record<string, unknown> | null {
  try {
    const body: unknown = JSON.parse(decoder.decode(message.data))
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null
  } catch {
    return null
  }
}
