import type { CloseReason, ProtocolErrorCode } from '../machines/closeReason.js'

export { CLOSE_REASONS } from '../machines/closeReason.js'
export type { CloseReason, ProtocolErrorCode, TransportCloseReason } from '../machines/closeReason.js'

/** Codes that are not close reasons: misuse of the API or the CLI, and faults in user handlers. */
export const USAGE_ERROR_CODES = ['invalid-option', 'handler-error', 'handler-timeout', 'not-listening'] as const

export type UsageErrorCode = (typeof USAGE_ERROR_CODES)[number]

/** Why matching refused a join, or why a room stopped. */
export const ROOM_ERROR_CODES = ['unknown-room-type', 'room-not-found', 'room-full', 'room-exists', 'session-closed', 'room-failed', 'room-unreachable', 'snapshot-too-large'] as const

export type RoomErrorCode = (typeof ROOM_ERROR_CODES)[number]

export type ErrorCode = CloseReason | UsageErrorCode | RoomErrorCode

/** Base of every error zerostate raises or reports; match on `code`, which never changes. */
export class ZerostateError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

const CLOSE_MESSAGES: Record<CloseReason, string> = {
  'client-closed': 'the peer closed the connection',
  reset: 'the connection was reset',
  'handshake-timeout': 'no valid first frame arrived before the handshake deadline',
  'handshake-rejected': 'verify() rejected the first frame',
  'heartbeat-timeout': 'nothing arrived from the peer for the heartbeat timeout',
  'frame-too-small': 'a frame declared a size below 8',
  'frame-too-large': 'a frame declared a payload above maxPayload',
  'bad-checksum': 'a frame failed its Adler-32 checksum',
  'slow-consumer': 'the peer did not read fast enough: its outbound queue overflowed, or reading stayed paused for backpressure for the heartbeat timeout',
  'rate-limited': 'the peer sent more messages per second than maxMessagesPerSecond allows',
  'server-stopping': 'the server is stopping',
  kicked: 'the server closed the session',
  'internal-error': 'the session failed inside zerostate',
  'text-message': 'a WebSocket peer sent a text message; frames travel in binary messages',
  'message-too-large': 'a WebSocket message declared more bytes than one frame of maxPayload',
  'websocket-error': 'a WebSocket peer broke the WebSocket protocol',
  replaced: 'the client resumed the session over a new connection, which replaced this one',
  'resume-refused': 'the resume token opens no session: it is wrong, was used already, or its session ended',
  'replay-unavailable': 'the client missed more frames than the replay buffer holds, so it could not resume without a gap',
}

/** Why a session ended. `code` is the {@link CloseReason}. */
export class SessionClosedError extends ZerostateError {
  declare readonly code: CloseReason

  constructor(reason: CloseReason, detail?: string, options?: ErrorOptions) {
    super(reason, detail ? `${CLOSE_MESSAGES[reason]}: ${detail}` : CLOSE_MESSAGES[reason], options)
  }
}

/**
 * The error `onDisconnect` gets for a close zerostate observed rather than raised: a stack trace
 * would point into the event loop and costs more than the rest of closing a session.
 */
export function closedError(reason: CloseReason): SessionClosedError {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new SessionClosedError(reason)
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** A peer sent bytes that are not a valid frame; the decoder stops at the first one. */
export class ProtocolError extends SessionClosedError {
  declare readonly code: ProtocolErrorCode

  constructor(code: ProtocolErrorCode, detail: string) {
    super(code, detail)
  }
}

/** A bad value given to `createServer`, `connect` or the CLI. */
export class OptionError extends ZerostateError {
  /** The option the message is about (`heartbeat.interval`, `--port`), when there is one. */
  readonly option: string | undefined

  constructor(message: string, option?: string) {
    super('invalid-option', message)
    this.option = option
  }
}

/** A user handler threw or rejected; `cause` holds what it threw. */
export class HandlerError extends ZerostateError {
  constructor(handler: string, cause: unknown) {
    super('handler-error', `${handler} handler failed: ${describe(cause)}`, { cause })
  }
}

/** A handler did not settle within `handlerTimeout`; the game moved on and ignores its late result. */
export class HandlerTimeoutError extends ZerostateError {
  constructor(handler: string, timeout: number) {
    super('handler-timeout', `${handler} handler did not settle within ${timeout} ms; the game moved on`)
  }
}

/**
 * A join that matching refused (no such room type or room, full, a closed session, a restore over a live room), or
 * (`room-failed`, reported to `onError`) a room whose machine threw and was stopped.
 */
export class RoomError extends ZerostateError {
  declare readonly code: RoomErrorCode

  constructor(code: RoomErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}

/** `listen()` on a server that is not idle, or one stopped before it could bind. */
export class ListenError extends ZerostateError {
  constructor(message: string) {
    super('not-listening', message)
  }
}

function describe(value: unknown): string {
  return value instanceof Error ? value.message : String(value)
}
