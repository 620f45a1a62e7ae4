import { type Clock, positiveInteger, systemClock } from '../options.js'
import { DEFAULT_MAX_PAYLOAD } from '../protocol/message.js'

/** Options every client has, whatever carries its frames. */
export interface CommonClientOptions {
  /** Sends a heartbeat whenever nothing was sent for this long; 0 turns it off. @default 2_000 */
  heartbeatInterval?: number
  /** Largest payload accepted from the server. @default 1_048_576 (1 MiB) */
  maxPayload?: number
  /** @default the system clock */
  clock?: Clock
}

export interface ClientSettings {
  heartbeatInterval: number
  maxPayload: number
  clock: Clock
}

/** Fills in the defaults and throws an OptionError for a bad value, before anything connects. */
export function resolveClientSettings(options: CommonClientOptions): ClientSettings {
  const heartbeatInterval = options.heartbeatInterval ?? 2_000
  if (heartbeatInterval !== 0) positiveInteger('heartbeatInterval', heartbeatInterval)
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD
  positiveInteger('maxPayload', maxPayload)
  return { heartbeatInterval, maxPayload, clock: options.clock ?? systemClock }
}
