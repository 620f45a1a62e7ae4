/** One frame's content: what handlers receive and what `send` takes. */
export interface Message {
  /** Message id, an int32. 0 is reserved for heartbeats, which never reach handlers. */
  id: number
  data: Uint8Array
}
