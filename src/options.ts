import type { InspectionEvent, Observer } from 'xstate'
import { OptionError } from './errors.js'
import type { Message } from './protocol/message.js'
import { DEFAULT_MAX_PAYLOAD } from './protocol/message.js'
import type { Session } from './session.js'

/**
 * Time as zerostate sees it. XState's `SimulatedClock` fits, so one injected clock drives the
 * handshake deadline, the heartbeat sweep and every other delay in a test.
 */
export interface Clock {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export interface HeartbeatOptions {
  /** A session with no inbound frame for this long is probed; one written nothing to gets a heartbeat. @default 5_000 */
  interval?: number
  /** A session with no inbound frame for this long is closed with `heartbeat-timeout`. @default 30_000 */
  timeout?: number
}

export interface ServerOptions {
  heartbeat?: HeartbeatOptions
  /** false: a session is active on accept, as in zero. @default true */
  handshake?: boolean
  /** Time allowed for the first valid frame (and `verify`). @default 10_000 */
  handshakeTimeout?: number
  /**
   * Decides the handshake from the first frame, which is then not delivered to `onMessage`.
   * Without it, the first valid frame activates the session and is delivered. See {@link VerifyResult}.
   */
  verify?: (session: Session, message: Message) => VerifyResult | Promise<VerifyResult>
  /** Largest payload a frame may declare. @default 1_048_576 (1 MiB) */
  maxPayload?: number
  /** Bytes a session may have waiting to be written before it is closed with `slow-consumer`. @default 4_194_304 (4 MiB) */
  maxBufferedBytes?: number
  /** Bound on each wait for queued handler work during `stop()`. @default 5_000 */
  drainTimeout?: number
  /** An async handler pending this long is reported as `handler-timeout` and the game moves on. @default 10_000 */
  handlerTimeout?: number
  /** Events queued for the game logic at which sockets stop being read until it catches up. @default 10_000 */
  maxPendingMessages?: number
  /** Frames a session may send per second (bursts up to that many); over it closes with `rate-limited`. 0 is off. @default 0 */
  maxMessagesPerSecond?: number
  /** @default the system clock */
  clock?: Clock
  /**
   * Receives every actor's events and snapshots (supervisor, gameLogic, `session:<id>`): pass
   * `createWebSocketInspector(...).inspect` from `@statelyai/inspect`, or `createFileInspector`.
   * Off by default, and off costs nothing.
   */
  inspect?: Inspect
}

/**
 * What `verify` decides. `true` accepts. `false` (or a throw, or a rejection) closes with
 * `handshake-rejected` and the client learns nothing. `{ reject }` closes the same way after
 * writing the `reject` frame, so the client can be told why (the game picks its id); `detail`
 * joins the message of the error `onDisconnect` receives.
 *
 * @example verify: (session, token) => tokens.has(text(token)) || { reject: { id: 9, data: Buffer.from('bad token') } }
 */
export type VerifyResult = boolean | VerifyRejection

export interface VerifyRejection {
  reject: Message
  detail?: string
}

export type Inspect = Observer<InspectionEvent> | ((event: InspectionEvent) => void)

export interface ResolvedOptions {
  heartbeatInterval: number
  heartbeatTimeout: number
  handshake: boolean
  handshakeTimeout: number
  verify: ServerOptions['verify']
  maxPayload: number
  maxBufferedBytes: number
  drainTimeout: number
  handlerTimeout: number
  maxPendingMessages: number
  maxMessagesPerSecond: number
  clock: Clock
  inspect: Inspect | undefined
}

export const DEFAULTS = Object.freeze({
  heartbeatInterval: 5_000,
  heartbeatTimeout: 30_000,
  handshake: true,
  handshakeTimeout: 10_000,
  maxPayload: DEFAULT_MAX_PAYLOAD, // 1 MiB
  maxBufferedBytes: 4 * 1024 * 1024, // 4 MiB
  drainTimeout: 5_000,
  handlerTimeout: 10_000,
  maxPendingMessages: 10_000,
  maxMessagesPerSecond: 0, // off
})

/** Fills in defaults and rejects bad values now, so nothing fails later on a live server. */
export function resolveOptions(options: ServerOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    heartbeatInterval: options.heartbeat?.interval ?? DEFAULTS.heartbeatInterval,
    heartbeatTimeout: options.heartbeat?.timeout ?? DEFAULTS.heartbeatTimeout,
    handshake: options.handshake ?? DEFAULTS.handshake,
    handshakeTimeout: options.handshakeTimeout ?? DEFAULTS.handshakeTimeout,
    verify: options.verify,
    maxPayload: options.maxPayload ?? DEFAULTS.maxPayload,
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
    drainTimeout: options.drainTimeout ?? DEFAULTS.drainTimeout,
    handlerTimeout: options.handlerTimeout ?? DEFAULTS.handlerTimeout,
    maxPendingMessages: options.maxPendingMessages ?? DEFAULTS.maxPendingMessages,
    maxMessagesPerSecond: options.maxMessagesPerSecond ?? DEFAULTS.maxMessagesPerSecond,
    clock: options.clock ?? systemClock,
    inspect: options.inspect,
  }
  positiveInteger('heartbeat.interval', resolved.heartbeatInterval)
  positiveInteger('heartbeat.timeout', resolved.heartbeatTimeout)
  if (resolved.heartbeatTimeout <= resolved.heartbeatInterval) {
    throw new OptionError(
      `Expected \`heartbeat.timeout\` to be above \`heartbeat.interval\` (${resolved.heartbeatInterval}), got \`${resolved.heartbeatTimeout}\``,
    )
  }
  if (typeof resolved.handshake !== 'boolean') {
    throw new OptionError(`Expected \`handshake\` to be a boolean, got ${show(resolved.handshake)}`)
  }
  positiveInteger('handshakeTimeout', resolved.handshakeTimeout)
  if (resolved.verify !== undefined && typeof resolved.verify !== 'function') {
    throw new OptionError(`Expected \`verify\` to be a function, got ${show(resolved.verify)}`)
  }
  // The size field is an int32 that also counts id and checksum.
  positiveInteger('maxPayload', resolved.maxPayload, 0x7fffffff - 8)
  positiveInteger('maxBufferedBytes', resolved.maxBufferedBytes)
  positiveInteger('drainTimeout', resolved.drainTimeout)
  positiveInteger('handlerTimeout', resolved.handlerTimeout)
  positiveInteger('maxPendingMessages', resolved.maxPendingMessages)
  if (resolved.maxMessagesPerSecond !== 0) positiveInteger('maxMessagesPerSecond', resolved.maxMessagesPerSecond)
  if (resolved.inspect !== undefined && typeof resolved.inspect !== 'function' && typeof resolved.inspect?.next !== 'function') {
    throw new OptionError(`Expected \`inspect\` to be a function or an observer with next(), got ${show(resolved.inspect)}`)
  }
  return resolved
}

/** Throws the OptionError the CLI and `createServer` share for a value that is not an integer in [1, max]. */
export function positiveInteger(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new OptionError(`Expected \`${name}\` to be an integer from 1 to ${max}, got ${show(value)}`)
  }
}

function show(value: unknown): string {
  return `\`${String(value)}\` (${typeof value})`
}
