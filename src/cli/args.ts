import { randomBytes } from 'node:crypto'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { OptionError } from '../errors.js'
import { DEFAULT_WEBSOCKET_PORT } from '../listenOptions.js'
import { CLUSTER_NAME, DEFAULTS, describeRange, PORT_RANGE, INTEGER_OPTIONS, type IntegerOption, type IntegerRange, inRange, resolveOptions, type ServerOptions } from '../options.js'

export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_PORT = 18787
/** Where `--inspect` with no port starts the relay (beside the default server port). */
export const DEFAULT_INSPECT_PORT = 18788
/** Where `--ws-port` with no port listens for WebSocket sessions. */
export { DEFAULT_WEBSOCKET_PORT }

/** What the command line asks for; every value is filled in and valid. */
export type CliCommand =
  | { command: 'help' }
  | ({ command: 'serve' } & ServeSettings)
  | { command: 'machines'; format: 'json' | 'mermaid' }
  | { command: 'timeline'; files: string[] }

export interface ServeSettings {
  host: string
  /** 0 picks a free port; null: no TCP (`--no-tcp`). */
  port: number | null
  /** WebSocket sessions too (`--ws-port`), or null. */
  webSocket: { port: number; path: string; allowedOrigins: readonly string[] } | null
  heartbeatInterval: number
  heartbeatTimeout: number
  handshake: boolean
  handshakeTimeout: number
  maxPayload: number
  /** 0 is off. */
  maxMessagesPerSecond: number
  /** Keep a session whose peer is lost this long for its client to resume (`resume.grace`), or null: off. */
  resumeGrace: number | null
  /** Be a node of the cluster on this NATS, with this node id (`cluster`; random without --node), or null: one process. */
  cluster: { nats: string; node: string } | null
  /** Start a local relay there (port 0 picks one), or feed one already running at this URL. */
  inspect: { host: string; port: number } | { url: string } | null
  /** Let payload bytes reach the relay (see `inspectPayloads`). */
  inspectPayloads: boolean
  inspectFile: string | null
}

const SERVE_FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  'heartbeat-timeout': { type: 'string' },
  'handshake-timeout': { type: 'string' },
  'max-payload': { type: 'string' },
  'no-handshake': { type: 'boolean' },
  'ws-port': { type: 'string' },
  'ws-path': { type: 'string' },
  'allowed-origin': { type: 'string', multiple: true },
  'no-tcp': { type: 'boolean' },
  'max-messages-per-second': { type: 'string' },
  'resume-grace': { type: 'string' },
  cluster: { type: 'string' },
  node: { type: 'string' },
  inspect: { type: 'string' },
  'inspect-host': { type: 'string' },
  'inspect-url': { type: 'string' },
  'inspect-payloads': { type: 'boolean' },
  'inspect-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

type ServeFlag = keyof typeof SERVE_FLAGS

/** The integer flags: the server option each one sets (whose range it takes), or its own range. */
const INTEGER_FLAGS = {
  port: { range: PORT_RANGE },
  'ws-port': { range: PORT_RANGE },
  inspect: { range: PORT_RANGE },
  'heartbeat-interval': { option: 'heartbeat.interval' },
  'heartbeat-timeout': { option: 'heartbeat.timeout' },
  'handshake-timeout': { option: 'handshakeTimeout' },
  'max-payload': { option: 'maxPayload' },
  'max-messages-per-second': { option: 'maxMessagesPerSecond' },
  'resume-grace': { option: 'resume.grace' },
} as const satisfies Partial<Record<ServeFlag, { range: IntegerRange } | { option: IntegerOption }>>

type IntegerFlag = keyof typeof INTEGER_FLAGS

/** The flag that sets each server option, so that `resolveOptions`'s errors can name the flag. */
const FLAG_OF_OPTION: Partial<Record<string, IntegerFlag>> = Object.fromEntries(
  Object.entries(INTEGER_FLAGS).flatMap(([flag, spec]) => ('option' in spec ? [[spec.option, flag as IntegerFlag]] : [])),
)

/** What an integer flag accepts, as its messages say it. */
export function flagExpectation(flag: IntegerFlag): string {
  const spec: { range: IntegerRange } | { option: IntegerOption } = INTEGER_FLAGS[flag]
  return describeRange('range' in spec ? spec.range : INTEGER_OPTIONS[spec.option])
}

/** Reads the command line; throws {@link OptionError} (with the flag as `option`) for anything it cannot run. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [first, ...rest] = argv
  if (first === 'machines') return parseMachines(rest)
  if (first === 'timeline') return parseTimeline(rest)
  if (first !== undefined && !first.startsWith('-')) throw new OptionError(`Unknown command \`${first}\``, first)
  return parseServe(argv)
}

function parseMachines(argv: readonly string[]): CliCommand {
  const { values } = parseFlags(argv, { json: { type: 'boolean' }, mermaid: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } })
  if (values.help === true) return { command: 'help' }
  if (values.json === true && values.mermaid === true) throw new OptionError('Expected one of `--json` and `--mermaid`, got both', '--mermaid')
  return { command: 'machines', format: values.mermaid === true ? 'mermaid' : 'json' }
}

function parseTimeline(argv: readonly string[]): CliCommand {
  if (argv.length === 0 || argv.some((file) => file.startsWith('-'))) {
    throw new OptionError('Expected `timeline <file> [<file> ...]` with the paths of --inspect-file logs (one per node of a cluster)', 'timeline')
  }
  return { command: 'timeline', files: [...argv] }
}

function parseServe(argv: readonly string[]): CliCommand {
  // `--inspect` and `--ws-port` take an optional value, which parseArgs cannot express: a bare one
  // means the default port.
  const { values } = parseFlags(
    joinNegativeValues(argv).map((arg) =>
      arg === '--inspect' ? `--inspect=${DEFAULT_INSPECT_PORT}` : arg === '--ws-port' ? `--ws-port=${DEFAULT_WEBSOCKET_PORT}` : arg,
    ),
    SERVE_FLAGS,
  )
  if (values.help === true) return { command: 'help' }
  const integer = (flag: IntegerFlag, fallback: number) => {
    const raw = values[flag]
    return raw === undefined ? fallback : integerFlag(flag, raw)
  }
  const host = nonEmpty('host', values.host) ?? DEFAULT_HOST
  const settings: ServeSettings = {
    host,
    port: values['no-tcp'] === true ? null : integer('port', DEFAULT_PORT),
    webSocket: webSocketSettings(values),
    heartbeatInterval: integer('heartbeat-interval', DEFAULTS.heartbeatInterval),
    heartbeatTimeout: integer('heartbeat-timeout', DEFAULTS.heartbeatTimeout),
    handshake: values['no-handshake'] !== true,
    handshakeTimeout: integer('handshake-timeout', DEFAULTS.handshakeTimeout),
    maxPayload: integer('max-payload', DEFAULTS.maxPayload),
    maxMessagesPerSecond: integer('max-messages-per-second', DEFAULTS.maxMessagesPerSecond),
    resumeGrace: values['resume-grace'] === undefined ? null : integer('resume-grace', 0),
    cluster: clusterSettings(values),
    inspect: inspectTarget(values, host),
    inspectPayloads: values['inspect-payloads'] === true,
    inspectFile: nonEmpty('inspect-file', values['inspect-file']) ?? null,
  }
  if (settings.port === null && values.port !== undefined) throw new OptionError('Expected one of `--port` and `--no-tcp`, got both', '--no-tcp')
  if (settings.port === null && settings.webSocket === null) {
    throw new OptionError('Expected `--no-tcp` with `--ws-port` (a server needs a way in)', '--no-tcp')
  }
  if (settings.resumeGrace !== null && !settings.handshake) {
    throw new OptionError('Expected one of `--resume-grace` and `--no-handshake`: a resuming client presents its token as its first frame', '--resume-grace')
  }
  if (settings.inspectPayloads && settings.inspect === null) {
    throw new OptionError('Expected `--inspect-payloads` with `--inspect` or `--inspect-url` (an --inspect-file log never holds payloads)', '--inspect-payloads')
  }
  // The server's own validation, so the CLI accepts exactly what createServer accepts.
  try {
    resolveOptions(serverOptions(settings))
  } catch (error) {
    if (!(error instanceof OptionError) || error.option === undefined) throw error
    const flag = FLAG_OF_OPTION[error.option]
    if (flag === undefined) throw error
    const expected =
      flag === 'heartbeat-timeout' && inRange(INTEGER_OPTIONS['heartbeat.timeout'], settings.heartbeatTimeout)
        ? `above \`--heartbeat-interval\` (${settings.heartbeatInterval})`
        : flagExpectation(flag)
    throw new OptionError(`Expected \`--${flag}\` to be ${expected}, got \`${values[flag]}\``, `--${flag}`)
  }
  return { command: 'serve', ...settings }
}

type ServeValues = {
  [K in ServeFlag]?: (typeof SERVE_FLAGS)[K] extends { multiple: true } ? string[] : (typeof SERVE_FLAGS)[K]['type'] extends 'string' ? string : boolean
}

function webSocketSettings(values: ServeValues): ServeSettings['webSocket'] {
  const path = values['ws-path']
  const origins = values['allowed-origin'] ?? []
  if (values['ws-port'] === undefined) {
    if (path !== undefined || origins.length > 0) {
      throw new OptionError(`Expected \`--${path !== undefined ? 'ws-path' : 'allowed-origin'}\` with \`--ws-port\``, path !== undefined ? '--ws-path' : '--allowed-origin')
    }
    return null
  }
  if (path !== undefined && !path.startsWith('/')) throw new OptionError(`Expected \`--ws-path\` to be a path starting with /, got \`${path}\``, '--ws-path')
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[^/]+$/.test(origin)) {
      throw new OptionError(`Expected \`--allowed-origin\` to be an origin such as https://game.example (scheme and host, no path) or *, got \`${origin}\``, '--allowed-origin')
    }
  }
  return { port: integerFlag('ws-port', values['ws-port']), path: path ?? '/', allowedOrigins: origins }
}

function clusterSettings(values: ServeValues): ServeSettings['cluster'] {
  const nats = values.cluster
  const node = values.node
  if (nats === undefined) {
    if (node !== undefined) throw new OptionError('Expected `--node` with `--cluster`', '--node')
    return null
  }
  if (!/^(nats|tls|wss?):\/\/./.test(nats)) throw new OptionError(`Expected \`--cluster\` to be a NATS URL such as nats://127.0.0.1:4222, got \`${nats}\``, '--cluster')
  if (node !== undefined && !CLUSTER_NAME.test(node)) throw new OptionError(`Expected \`--node\` to be letters, digits, - and _, got \`${node}\``, '--node')
  // Decided here rather than by the server, so that the --inspect-file records can carry it.
  return { nats, node: node ?? randomBytes(4).toString('hex') }
}

function inspectTarget(values: ServeValues, gameHost: string): ServeSettings['inspect'] {
  const url = values['inspect-url']
  const relayHost = nonEmpty('inspect-host', values['inspect-host'])
  if (values.inspect !== undefined && url !== undefined) throw new OptionError('Expected one of `--inspect` and `--inspect-url`, got both', '--inspect')
  if (relayHost !== undefined && values.inspect === undefined) {
    throw new OptionError('Expected `--inspect-host` with `--inspect` (it is where the relay listens)', '--inspect-host')
  }
  if (url !== undefined) {
    if (!/^wss?:\/\/./.test(url)) throw new OptionError(`Expected \`--inspect-url\` to be a ws:// or wss:// URL, got \`${url}\``, '--inspect-url')
    return { url }
  }
  if (values.inspect === undefined) return null
  return { host: relayHost ?? gameHost, port: integerFlag('inspect', values.inspect) }
}

function nonEmpty(flag: 'host' | 'inspect-host' | 'inspect-file', raw: string | undefined): string | undefined {
  if (raw === '') {
    const what = flag === 'inspect-file' ? 'a path' : 'a host name or address'
    throw new OptionError(`Expected \`--${flag}\` to be ${what}, got an empty string`, `--${flag}`)
  }
  return raw
}

function parseFlags<T extends ParseArgsConfig['options']>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false })
  } catch (error) {
    // parseArgs throws a TypeError with an ERR_PARSE_ARGS_* code: unknown flag, missing value, ...
    if (error instanceof Error && String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) {
      const message = error.message.split('\n')[0]!
      throw new OptionError(message, /'(-[\w-]+)/.exec(message)?.[1])
    }
    throw error
  }
}

/**
 * `--port -5` reads to parseArgs as a flag missing its value; `--port=-5` is what was meant, and
 * then the message can say that -5 is out of range.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const next = argv[i + 1]
    const name = arg.startsWith('--') ? arg.slice(2) : ''
    if (name in SERVE_FLAGS && SERVE_FLAGS[name as ServeFlag].type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

/**
 * Decimal digits only: `1e3`, `0x10`, `5ms` and `` are mistakes, not numbers. The flag's own range
 * is checked here; one that sets a server option is checked by `resolveOptions`, whose error is
 * then said again in the flag's terms.
 */
function integerFlag(flag: IntegerFlag, raw: string): number {
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN
  const spec: { range: IntegerRange } | { option: IntegerOption } = INTEGER_FLAGS[flag]
  const range = 'range' in spec ? spec.range : INTEGER_OPTIONS[spec.option]
  if (!inRange(range, value)) throw new OptionError(`Expected \`--${flag}\` to be ${describeRange(range)}, got \`${raw}\``, `--${flag}`)
  return value
}

/** The `createServer` options a serve command asks for (its inspector is added by `serve`). */
export function serverOptions(settings: ServeSettings): ServerOptions {
  return {
    heartbeat: { interval: settings.heartbeatInterval, timeout: settings.heartbeatTimeout },
    handshake: settings.handshake,
    handshakeTimeout: settings.handshakeTimeout,
    maxPayload: settings.maxPayload,
    maxMessagesPerSecond: settings.maxMessagesPerSecond,
    ...(settings.resumeGrace === null ? {} : { resume: { grace: settings.resumeGrace } }),
    ...(settings.cluster === null ? {} : { cluster: settings.cluster }),
    inspectPayloads: settings.inspectPayloads,
  }
}
