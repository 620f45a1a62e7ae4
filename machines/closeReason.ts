/**
 * Every way a session can end. `onDisconnect` receives one as `error.code`, and the connection
 * machine's `closed` state carries it in `context.reason`.
 */
export const CLOSE_REASONS = [
  'client-closed',
  'reset',
  'handshake-timeout',
  'handshake-rejected',
  'heartbeat-timeout',
  'frame-too-small',
  'frame-too-large',
  'bad-checksum',
  'slow-consumer',
  'rate-limited',
  'server-stopping',
  'kicked',
  'internal-error',
  'text-message',
  'message-too-large',
  'websocket-error',
  'replaced',
  'resume-refused',
  'replay-unavailable',
] as const

export type CloseReason = (typeof CLOSE_REASONS)[number]

/** The close reasons a peer causes by sending bytes that are not a valid frame. */
export type ProtocolErrorCode = 'frame-too-small' | 'frame-too-large' | 'bad-checksum'

/**
 * The close reasons a transport reports on its own: the peer went away, or broke the transport's
 * protocol (over WebSocket: a text message, a message over the size limit, a malformed frame).
 */
export const TRANSPORT_CLOSE_REASONS = ['client-closed', 'reset', 'text-message', 'message-too-large', 'websocket-error'] as const

export type TransportCloseReason = (typeof TRANSPORT_CLOSE_REASONS)[number]
