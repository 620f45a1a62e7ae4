import type { InspectionEvent, Observer } from 'xstate'
import { OptionError } from './errors.js'
import { withoutPayloads } from './inspect/withoutPayloads.js'
import type { Message } from './protocol/message.js'
import { DEFAULT_MAX_PAYLOAD } from './protocol/message.js'
import type { ClusterOptions } from './cluster/clusterLink.js'
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
  /**
   * Let frame payload bytes reach `inspect`. Off, every `Uint8Array` the inspector would see (a
   * `frame.received` event's `frame.data`, with `verify` the credential in the first frame and in
   * the verify invoke's input) arrives as `{ bytes: <length> }`. On, inspectors see what the
   * players sent, credentials included. @default false
   */
  inspectPayloads?: boolean
  /**
   * Lets a client whose connection is lost resume its session, seats and rooms within `grace`,
   * losing no frame. Off by default: zero clients never see a resume frame. Needs the handshake.
   */
  resume?: ResumeOptions
  /** Be one node of a cluster on NATS: unicast and broadcast reach every node's sessions. Off by default: one process needs no NATS. */
  cluster?: ClusterOptions
}

export interface ResumeOptions {
  /** How long a session whose peer is lost waits in `detached` for the client to resume it, in ms. */
  grace: number
  /**
   * Bytes of sent frames each session keeps to replay what its client missed; part of
   * `maxBufferedBytes`, which then bounds the unsent bytes plus these. @default 65_536 (64 KiB)
   */
  replayBytes?: number
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
  /** The user's inspector, wrapped to leave payload bytes out unless `inspectPayloads`. */
  inspect: Inspect | undefined
  inspectPayloads: boolean
  /** null: off. */
  resume: Required<ResumeOptions> | null
  /** null: a single process. */
  cluster: ClusterOptions | null
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
  inspectPayloads: false,
  replayBytes: 64 * 1024,
})

/** The integers an option accepts: from `min` to `max`, and 0 when `zeroIsOff`. */
export interface IntegerRange {
  min: number
  max: number
  /** 0 is also accepted, and turns the feature off. */
  zeroIsOff?: boolean
}

/** The numeric options of {@link ServerOptions}, by the name their messages use. */
export const INTEGER_OPTIONS = Object.freeze({
  'heartbeat.interval': { min: 1, max: Number.MAX_SAFE_INTEGER },
  'heartbeat.timeout': { min: 1, max: Number.MAX_SAFE_INTEGER },
  handshakeTimeout: { min: 1, max: Number.MAX_SAFE_INTEGER },
  // The size field is an int32 that also counts id and checksum.
  maxPayload: { min: 1, max: 0x7fffffff - 8 },
  maxBufferedBytes: { min: 1, max: Number.MAX_SAFE_INTEGER },
  drainTimeout: { min: 1, max: Number.MAX_SAFE_INTEGER },
  handlerTimeout: { min: 1, max: Number.MAX_SAFE_INTEGER },
  maxPendingMessages: { min: 1, max: Number.MAX_SAFE_INTEGER },
  maxMessagesPerSecond: { min: 1, max: Number.MAX_SAFE_INTEGER, zeroIsOff: true },
  'resume.grace': { min: 1, max: Number.MAX_SAFE_INTEGER },
  'resume.replayBytes': { min: 1, max: Number.MAX_SAFE_INTEGER },
  'cluster.heartbeat': { min: 1, max: Number.MAX_SAFE_INTEGER },
  'cluster.snapshotInterval': { min: 1, max: Number.MAX_SAFE_INTEGER },
} satisfies Record<string, IntegerRange>)

export type IntegerOption = keyof typeof INTEGER_OPTIONS

/** What a range accepts, as the messages say it: `an integer from 1 to 10`, `0 (off) or an integer from 1 to 10`. */
export function describeRange(range: IntegerRange): string {
  const integers = `an integer from ${range.min} to ${range.max}`
  return range.zeroIsOff ? `0 (off) or ${integers}` : integers
}

export function inRange(range: IntegerRange, value: unknown): value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) return false
  return (range.zeroIsOff === true && value === 0) || (value >= range.min && value <= range.max)
}

/** Fills in defaults and rejects bad values now, so nothing fails later on a live server. */
export function resolveOptions(options: ServerOptions = {}): ResolvedOptions {
  const heartbeatInterval = options.heartbeat?.interval ?? DEFAULTS.heartbeatInterval
  const heartbeatTimeout = options.heartbeat?.timeout ?? DEFAULTS.heartbeatTimeout
  integerOption('heartbeat.interval', heartbeatInterval)
  integerOption('heartbeat.timeout', heartbeatTimeout)
  if (heartbeatTimeout <= heartbeatInterval) {
    throw new OptionError(
      `Expected \`heartbeat.timeout\` to be above \`heartbeat.interval\` (${heartbeatInterval}), got ${quote(heartbeatTimeout)}`,
      'heartbeat.timeout',
    )
  }
  const handshake = options.handshake ?? DEFAULTS.handshake
  if (typeof handshake !== 'boolean') throw new OptionError(`Expected \`handshake\` to be a boolean, got ${quote(handshake)}`, 'handshake')
  const verify = options.verify
  if (verify !== undefined && typeof verify !== 'function') {
    throw new OptionError(`Expected \`verify\` to be a function, got ${quote(verify)}`, 'verify')
  }
  const inspect = options.inspect
  if (inspect !== undefined && typeof inspect !== 'function' && typeof (inspect as { next?: unknown } | null)?.next !== 'function') {
    throw new OptionError(`Expected \`inspect\` to be a function or an observer with next(), got ${quote(inspect)}`, 'inspect')
  }
  const inspectPayloads = options.inspectPayloads ?? DEFAULTS.inspectPayloads
  if (typeof inspectPayloads !== 'boolean') {
    throw new OptionError(`Expected \`inspectPayloads\` to be a boolean, got ${quote(inspectPayloads)}`, 'inspectPayloads')
  }
  const resolved: ResolvedOptions = {
    heartbeatInterval,
    heartbeatTimeout,
    handshake,
    handshakeTimeout: integerOption('handshakeTimeout', options.handshakeTimeout ?? DEFAULTS.handshakeTimeout),
    verify,
    maxPayload: integerOption('maxPayload', options.maxPayload ?? DEFAULTS.maxPayload),
    maxBufferedBytes: integerOption('maxBufferedBytes', options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes),
    drainTimeout: integerOption('drainTimeout', options.drainTimeout ?? DEFAULTS.drainTimeout),
    handlerTimeout: integerOption('handlerTimeout', options.handlerTimeout ?? DEFAULTS.handlerTimeout),
    maxPendingMessages: integerOption('maxPendingMessages', options.maxPendingMessages ?? DEFAULTS.maxPendingMessages),
    maxMessagesPerSecond: integerOption('maxMessagesPerSecond', options.maxMessagesPerSecond ?? DEFAULTS.maxMessagesPerSecond),
    clock: options.clock ?? systemClock,
    // Wrapped only when there is an inspector: with inspection off nothing is created.
    inspect: inspect === undefined || inspectPayloads ? inspect : withoutPayloads(inspect),
    inspectPayloads,
    resume: null,
    cluster: resolveCluster(options.cluster),
  }
  resolved.resume = resolveResume(options.resume, resolved)
  return resolved
}

/** Node and cluster names become NATS subject tokens and KV keys. */
export const CLUSTER_NAME = /^[A-Za-z0-9_-]+$/

function resolveCluster(cluster: ServerOptions['cluster']): ClusterOptions | null {
  if (cluster === undefined) return null
  const servers = typeof cluster?.nats === 'string' ? [cluster.nats] : cluster?.nats
  if (!Array.isArray(servers) || servers.length === 0 || servers.some((url) => typeof url !== 'string' || url === '')) {
    throw new OptionError(`Expected \`cluster.nats\` to be a NATS URL such as nats://127.0.0.1:4222, or a list of them, got ${quote(cluster?.nats)}`, 'cluster.nats')
  }
  for (const field of ['node', 'name'] as const) {
    const value = cluster[field]
    if (value !== undefined && (typeof value !== 'string' || !CLUSTER_NAME.test(value))) {
      throw new OptionError(`Expected \`cluster.${field}\` to be letters, digits, - and _, got ${quote(value)}`, `cluster.${field}`)
    }
  }
  if (cluster.heartbeat !== undefined) integerOption('cluster.heartbeat', cluster.heartbeat)
  if (cluster.snapshotInterval !== undefined) integerOption('cluster.snapshotInterval', cluster.snapshotInterval)
  return { ...cluster, nats: servers }
}

function resolveResume(resume: ServerOptions['resume'], resolved: ResolvedOptions): Required<ResumeOptions> | null {
  if (resume === undefined) return null
  if (typeof resume !== 'object' || resume === null) throw new OptionError(`Expected \`resume\` to be an object with \`grace\`, got ${quote(resume)}`, 'resume')
  const grace = integerOption('resume.grace', resume.grace)
  const replayBytes = integerOption('resume.replayBytes', resume.replayBytes ?? Math.min(DEFAULTS.replayBytes, Math.floor(resolved.maxBufferedBytes / 2)))
  if (replayBytes >= resolved.maxBufferedBytes) {
    throw new OptionError(
      `Expected \`resume.replayBytes\` to be below \`maxBufferedBytes\` (${resolved.maxBufferedBytes}), of which it is a part, got ${quote(replayBytes)}`,
      'resume.replayBytes',
    )
  }
  // A resuming client's first frame is its token: a session active on accept would take it for a message.
  if (!resolved.handshake) throw new OptionError('Expected `handshake` to be on with `resume`: a resuming client presents its token as its first frame', 'handshake')
  return { grace, replayBytes }
}

function integerOption(option: IntegerOption, value: unknown): number {
  integerIn(option, value, INTEGER_OPTIONS[option])
  return value
}

/** Throws the one-style OptionError for a value that is not an integer `range` accepts. */
export function integerIn(name: string, value: unknown, range: IntegerRange): asserts value is number {
  if (!inRange(range, value)) throw new OptionError(`Expected \`${name}\` to be ${describeRange(range)}, got ${quote(value)}`, name)
}

/** Throws the OptionError `createServer` and `connect` share for a value that is not an integer in [1, max]. */
export function positiveInteger(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  integerIn(name, value, { min: 1, max })
}

/** A TCP or WebSocket port: 0 picks a free one. */
export const PORT_RANGE: IntegerRange = Object.freeze({ min: 0, max: 65535 })

/** A value as the messages quote it: numbers as written, anything else with its type. */
export function quote(value: unknown): string {
  if (typeof value === 'number') return `\`${value}\``
  if (typeof value === 'string') return `\`${JSON.stringify(value)}\` (string)`
  return `\`${String(value)}\` (${value === null ? 'null' : typeof value})`
}
