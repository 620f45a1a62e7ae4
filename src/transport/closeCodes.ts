import { CLOSE_REASONS, type CloseReason } from '../../machines/closeReason.js'

/**
 * The WebSocket close code each close reason is sent with; the close frame's reason text is the
 * reason's code itself (`handshake-rejected`), so a page can show why. Standard codes where one
 * fits (RFC 6455 §7.4.1), 4000-4999 (for applications) for zerostate's own.
 *
 * `client-closed` and `reset` are never sent: the peer is gone. A browser reports those as its
 * own close codes (1000, 1005 or 1006).
 */
export const WEBSOCKET_CLOSE_CODES: Readonly<Record<CloseReason, number>> = Object.freeze({
  'client-closed': 1000,
  reset: 1006,
  'handshake-timeout': 4000,
  'handshake-rejected': 4001,
  'heartbeat-timeout': 4002,
  'frame-too-small': 1008,
  'frame-too-large': 1009,
  'bad-checksum': 1008,
  'slow-consumer': 4003,
  'rate-limited': 4004,
  'server-stopping': 1001,
  kicked: 4005,
  'internal-error': 1011,
  'text-message': 1003,
  'message-too-large': 1009,
  'websocket-error': 1002,
  replaced: 4006,
  'resume-refused': 4007,
  'replay-unavailable': 4008,
})

const REASONS: ReadonlySet<string> = new Set(CLOSE_REASONS)

/** The close reason a zerostate server put in a close frame's text, or null for any other text. */
export function closeReasonOf(text: string): CloseReason | null {
  return REASONS.has(text) ? (text as CloseReason) : null
}
