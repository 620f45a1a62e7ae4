import type { Message } from '../../machines/message.js'

export type { Message } from '../../machines/message.js'

/** Whether `value` can be sent as a frame: an int32 id and bytes. */
export function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false
  const { id, data } = value as Partial<Message>
  return Number.isInteger(id) && id! >= -0x80000000 && id! <= 0x7fffffff && data instanceof Uint8Array
}

/** Bytes before the payload: size (4) and id (4). */
export const HEADER_SIZE = 8
/** Bytes after the payload: the Adler-32 checksum. */
export const CHECKSUM_SIZE = 4
/** The size field counts id, payload and checksum: everything after itself. */
export const SIZE_FIELD_OVERHEAD = 8
export const HEARTBEAT_ID = 0
/** zero's default and ours: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD = 1 << 20
