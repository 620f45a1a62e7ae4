import { describe, expect, it } from 'vitest'
import { OptionError } from '../src/errors.js'
import { DEFAULTS, resolveOptions, type ServerOptions, systemClock } from '../src/options.js'

const MAX = Number.MAX_SAFE_INTEGER

/** The OptionError `resolveOptions(options)` throws. */
function rejection(options: unknown): OptionError {
  try {
    resolveOptions(options as ServerOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(OptionError)
    return error as OptionError
  }
  throw new Error(`resolveOptions accepted ${String(options)}`)
}

/** How the messages quote a bad value. */
function shown(value: unknown): string {
  if (typeof value === 'number') return `\`${value}\``
  if (typeof value === 'string') return `\`${JSON.stringify(value)}\` (string)`
  return `\`${String(value)}\` (${value === null ? 'null' : typeof value})`
}

// null, like undefined, means the default (the options are read with `??`).
const NOT_INTEGERS = [1.5, Number.NaN, Number.POSITIVE_INFINITY, '100', true, {}]
const POSITIVE = `an integer from 1 to ${MAX}`

// Each numeric option, how to set it, what it accepts, and values it must refuse.
const integerOptions: [option: string, set: (value: unknown) => object, expected: string, bad: unknown[]][] = [
  ['heartbeat.interval', (value) => ({ heartbeat: { interval: value, timeout: MAX } }), POSITIVE, [0, -1, MAX + 1, ...NOT_INTEGERS]],
  ['heartbeat.timeout', (value) => ({ heartbeat: { interval: 1, timeout: value } }), POSITIVE, [0, -1, MAX + 1, ...NOT_INTEGERS]],
  ['handshakeTimeout', (value) => ({ handshakeTimeout: value }), POSITIVE, [0, -5, MAX + 1, ...NOT_INTEGERS]],
  ['maxPayload', (value) => ({ maxPayload: value }), `an integer from 1 to ${0x7fffffff - 8}`, [0, -1, 0x7fffffff - 7, 2 ** 31, ...NOT_INTEGERS]],
  ['maxBufferedBytes', (value) => ({ maxBufferedBytes: value }), POSITIVE, [0, -1, MAX + 1, ...NOT_INTEGERS]],
  ['drainTimeout', (value) => ({ drainTimeout: value }), POSITIVE, [0, -1, MAX + 1, ...NOT_INTEGERS]],
  ['handlerTimeout', (value) => ({ handlerTimeout: value }), POSITIVE, [0, -1, MAX + 1, ...NOT_INTEGERS]],
  ['maxPendingMessages', (value) => ({ maxPendingMessages: value }), POSITIVE, [0, -1, MAX + 1, ...NOT_INTEGERS]],
  ['maxMessagesPerSecond', (value) => ({ maxMessagesPerSecond: value }), `0 (off) or an integer from 1 to ${MAX}`, [-1, -0.5, MAX + 1, ...NOT_INTEGERS]],
  ['resume.grace', (value) => ({ resume: { grace: value } }), POSITIVE, [0, -1, MAX + 1, ...NOT_INTEGERS]],
  ['resume.replayBytes', (value) => ({ resume: { grace: 1, replayBytes: value } }), POSITIVE, [0, -1, MAX + 1, ...NOT_INTEGERS]],
]

describe('resolveOptions', () => {
  it('fills in DEFAULTS, with no inspector and nothing wrapped', () => {
    const resolved = resolveOptions()
    expect(resolved).toEqual({
      heartbeatInterval: DEFAULTS.heartbeatInterval,
      heartbeatTimeout: DEFAULTS.heartbeatTimeout,
      handshake: DEFAULTS.handshake,
      handshakeTimeout: DEFAULTS.handshakeTimeout,
      verify: undefined,
      maxPayload: DEFAULTS.maxPayload,
      maxBufferedBytes: DEFAULTS.maxBufferedBytes,
      drainTimeout: DEFAULTS.drainTimeout,
      handlerTimeout: DEFAULTS.handlerTimeout,
      maxPendingMessages: DEFAULTS.maxPendingMessages,
      maxMessagesPerSecond: DEFAULTS.maxMessagesPerSecond,
      clock: systemClock,
      inspect: undefined,
      inspectPayloads: false,
      resume: null,
      cluster: null,
    })
    expect(resolveOptions({})).toEqual(resolved)
    expect(DEFAULTS).toMatchObject({ heartbeatInterval: 5_000, heartbeatTimeout: 30_000, maxMessagesPerSecond: 0, inspectPayloads: false })
  })

  it('keeps what it is given when it is valid, 0 (off) for maxMessagesPerSecond included', () => {
    const verify = () => true
    expect(
      resolveOptions({ heartbeat: { interval: 1, timeout: 2 }, handshake: false, verify, maxPayload: 0x7fffffff - 8, maxMessagesPerSecond: 0 }),
    ).toMatchObject({ heartbeatInterval: 1, heartbeatTimeout: 2, handshake: false, verify, maxPayload: 0x7fffffff - 8, maxMessagesPerSecond: 0 })
  })

  it.each(integerOptions.flatMap(([option, set, expected, bad]) => bad.map((value) => [option, value, set, expected] as const)))(
    'rejects %s = %j',
    (option, value, set, expected) => {
      const error = rejection(set(value))
      expect(error.code).toBe('invalid-option')
      expect(error.option).toBe(option)
      expect(error.message).toBe(`Expected \`${option}\` to be ${expected}, got ${shown(value)}`)
    },
  )

  it.each([
    [1000, 1000],
    [1000, 999],
    [DEFAULTS.heartbeatTimeout, undefined],
  ])('rejects heartbeat.interval %j with heartbeat.timeout %j: the timeout must be above the interval', (interval, timeout) => {
    const error = rejection({ heartbeat: { interval, timeout } })
    expect(error.code).toBe('invalid-option')
    expect(error.option).toBe('heartbeat.timeout')
    expect(error.message).toBe(`Expected \`heartbeat.timeout\` to be above \`heartbeat.interval\` (${interval}), got \`${timeout ?? DEFAULTS.heartbeatTimeout}\``)
  })

  it.each([
    ['handshake', { handshake: 'yes' }, 'a boolean', 'yes'],
    ['handshake', { handshake: 0 }, 'a boolean', 0],
    ['verify', { verify: true }, 'a function', true],
    ['verify', { verify: 'token' }, 'a function', 'token'],
    ['verify', { verify: null }, 'a function', null],
    ['inspect', { inspect: {} }, 'a function or an observer with next()', {}],
    ['inspect', { inspect: { next: 1 } }, 'a function or an observer with next()', { next: 1 }],
    ['inspect', { inspect: 'console' }, 'a function or an observer with next()', 'console'],
    ['inspect', { inspect: null }, 'a function or an observer with next()', null],
    ['inspectPayloads', { inspectPayloads: 'yes' }, 'a boolean', 'yes'],
    ['inspectPayloads', { inspectPayloads: 1 }, 'a boolean', 1],
  ] as const)('rejects %s = %j', (option, options, expected, value) => {
    const error = rejection(options)
    expect(error.code).toBe('invalid-option')
    expect(error.option).toBe(option)
    expect(error.message).toBe(`Expected \`${option}\` to be ${expected}, got ${shown(value)}`)
  })

  it('resume: a grace, a replay buffer inside maxBufferedBytes (64 KiB, or half of a smaller one), and the handshake on', () => {
    expect(resolveOptions({ resume: { grace: 5_000 } }).resume).toEqual({ grace: 5_000, replayBytes: 65_536 })
    expect(resolveOptions({ resume: { grace: 5_000 }, maxBufferedBytes: 1_000 }).resume).toEqual({ grace: 5_000, replayBytes: 500 })
    expect(resolveOptions({ resume: { grace: 1, replayBytes: 10 } }).resume).toEqual({ grace: 1, replayBytes: 10 })
    const tooBig = rejection({ resume: { grace: 1, replayBytes: 1_000 }, maxBufferedBytes: 1_000 })
    expect(tooBig.option).toBe('resume.replayBytes')
    expect(tooBig.message).toBe('Expected `resume.replayBytes` to be below `maxBufferedBytes` (1000), of which it is a part, got `1000`')
    const off = rejection({ resume: { grace: 1 }, handshake: false })
    expect(off.option).toBe('handshake')
    expect(off.message).toBe('Expected `handshake` to be on with `resume`: a resuming client presents its token as its first frame')
    expect(rejection({ resume: 5_000 }).message).toBe('Expected `resume` to be an object with `grace`, got `5000`')
  })

  it('cluster: a NATS URL or a list of them, node and cluster names fit for NATS subjects', () => {
    expect(resolveOptions({ cluster: { nats: 'nats://127.0.0.1:4222', node: 'a' } }).cluster).toEqual({ nats: ['nats://127.0.0.1:4222'], node: 'a' })
    expect(rejection({ cluster: { nats: '' } }).option).toBe('cluster.nats')
    expect(rejection({ cluster: { nats: [] } }).option).toBe('cluster.nats')
    expect(rejection({ cluster: { nats: 'nats://x', node: 'a.b' } }).message).toBe('Expected `cluster.node` to be letters, digits, - and _, got `"a.b"` (string)')
    expect(rejection({ cluster: { nats: 'nats://x', name: 'two words' } }).option).toBe('cluster.name')
    expect(rejection({ cluster: { nats: 'nats://x', heartbeat: 0 } }).option).toBe('cluster.heartbeat')
  })

  it('wraps the inspector so that payload bytes are left out, unless inspectPayloads', () => {
    const inspect = () => {}
    const wrapped = resolveOptions({ inspect }).inspect
    expect(wrapped).not.toBe(inspect)
    expect(typeof wrapped === 'object' && typeof wrapped.next).toBe('function')
    expect(resolveOptions({ inspect, inspectPayloads: true }).inspect).toBe(inspect)
  })
})
