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
  /**
   * Resume the session when the connection is lost, on a server with `resume`: reconnect with
   * jittered exponential backoff, present the token, get what was missed, resend what the server
   * did not read. `true` takes the defaults. Off by default.
   */
  resume?: boolean | ClientResumeOptions
}

export interface ClientResumeOptions {
  /** The first reconnection's delay, doubled after each failed one. @default 100 */
  minDelay?: number
  /** The longest delay between two reconnections. @default 5_000 */
  maxDelay?: number
  /** Stop trying this long after the connection was lost, and close with the loss's reason. @default 60_000 */
  giveUpAfter?: number
  /** Frames kept for resending (what is sent while dropped waits here too); past it, `send` during a drop returns false. @default 1_024 */
  maxQueued?: number
  /**
   * Hearing nothing from the server for this long counts as a lost connection, though the
   * connection has not said so. A zerostate server writes to every idle session once per
   * heartbeat interval (5 s by default): keep this above the server's interval. 0 is off. @default 15_000
   */
  silence?: number
  /** Where the delays' jitter comes from, in [0, 1). @default Math.random */
  random?: () => number
}

export interface ClientSettings {
  heartbeatInterval: number
  maxPayload: number
  clock: Clock
  resume: Required<ClientResumeOptions> | null
}

/** Fills in the defaults and throws an OptionError for a bad value, before anything connects. */
export function resolveClientSettings(options: CommonClientOptions): ClientSettings {
  const heartbeatInterval = options.heartbeatInterval ?? 2_000
  if (heartbeatInterval !== 0) positiveInteger('heartbeatInterval', heartbeatInterval)
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD
  positiveInteger('maxPayload', maxPayload)
  return { heartbeatInterval, maxPayload, clock: options.clock ?? systemClock, resume: resolveResume(options.resume) }
}

function resolveResume(resume: CommonClientOptions['resume']): Required<ClientResumeOptions> | null {
  if (resume === undefined || resume === false) return null
  const given = resume === true ? {} : resume
  const settings = {
    minDelay: given.minDelay ?? 100,
    maxDelay: given.maxDelay ?? 5_000,
    giveUpAfter: given.giveUpAfter ?? 60_000,
    maxQueued: given.maxQueued ?? 1_024,
    silence: given.silence ?? 15_000,
    random: given.random ?? Math.random,
  }
  positiveInteger('resume.minDelay', settings.minDelay)
  positiveInteger('resume.maxDelay', settings.maxDelay)
  positiveInteger('resume.giveUpAfter', settings.giveUpAfter)
  positiveInteger('resume.maxQueued', settings.maxQueued)
  if (settings.silence !== 0) positiveInteger('resume.silence', settings.silence)
  return settings
}
