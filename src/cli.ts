#!/usr/bin/env node
/**
 * The `zerostate` command: a session server whose game echoes every message back to its sender,
 * so `npm start` and any zero client show something at once.
 *
 * `main(argv, io)` does the work and resolves with the exit code; only the entry point exits the
 * process. Commands are dispatched in {@link parseCliArgs}, which is where subcommands such as
 * `zerostate machines` or `zerostate timeline <file>` join the default `serve` command.
 */
import { readFileSync, realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { OptionError } from './errors.js'
import { DEFAULTS, resolveOptions, type ServerOptions } from './options.js'
import { connectionMachine } from '../machines/connection.js'
import { gameLogicMachine } from '../machines/gameLogic.js'
import { supervisorMachine } from '../machines/supervisor.js'
import { FdWriter } from './fdWriter.js'
import { createFileInspector } from './inspect/fileInspector.js'
import { createRelayInspector } from './inspect/relayInspector.js'
import { formatTimeline } from './inspect/timeline.js'
import { toMermaid } from './mermaid.js'
import { type Address, createServer } from './server.js'

export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_PORT = 18787

/** What the command line asks for; every value is filled in and valid. */
export type CliCommand =
  | { command: 'help' }
  | ({ command: 'serve' } & ServeSettings)
  | { command: 'machines'; format: 'json' | 'mermaid' }
  | { command: 'timeline'; file: string }

export interface ServeSettings {
  host: string
  /** 0 picks a free port. */
  port: number
  heartbeatInterval: number
  heartbeatTimeout: number
  handshake: boolean
  handshakeTimeout: number
  maxPayload: number
  /** 0 is off. */
  maxMessagesPerSecond: number
  /** Start a local relay on this port, or feed one already running at this URL. */
  inspect: { port: number } | { url: string } | null
  inspectFile: string | null
}

/** Where `--inspect` with no port starts the relay (beside the default server port). */
export const DEFAULT_INSPECT_PORT = 18788

/** Where SIGINT and SIGTERM arrive: `process`, or a stand-in in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown
  off(signal: NodeJS.Signals, listener: () => void): unknown
}

/** Everything `main` touches outside itself. */
export interface CliIo {
  /** Command output (the usage text). */
  stdout(text: string): void
  /** Log lines and error messages. */
  stderr(text: string): void
  signals: SignalSource
}

const SERVE_FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  'heartbeat-timeout': { type: 'string' },
  'handshake-timeout': { type: 'string' },
  'max-payload': { type: 'string' },
  'no-handshake': { type: 'boolean' },
  'max-messages-per-second': { type: 'string' },
  inspect: { type: 'string' },
  'inspect-url': { type: 'string' },
  'inspect-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** The names `resolveOptions` reports, as the flags that set them, so its messages name the flag. */
const FLAG_OF_OPTION: Record<string, string> = {
  'heartbeat.interval': '--heartbeat-interval',
  'heartbeat.timeout': '--heartbeat-timeout',
  handshakeTimeout: '--handshake-timeout',
  maxPayload: '--max-payload',
  maxMessagesPerSecond: '--max-messages-per-second',
}

export const USAGE = `Usage: zerostate [options]
       zerostate machines [--json | --mermaid]
       zerostate timeline <inspection-file.jsonl>

Runs a zerostate session server (zero's wire format) whose game echoes every
message back to its sender. Logs one line on start and one per connect and
disconnect on stderr. SIGINT or SIGTERM stops it gracefully; a second signal
exits at once.

Options:
  --host <host>               address to listen on (default ${DEFAULT_HOST})
  --port <port>               TCP port, 0 picks a free one (default ${DEFAULT_PORT})
  --heartbeat-interval <ms>   probe a session silent this long, and send a
                              heartbeat to one written nothing to (default ${DEFAULTS.heartbeatInterval})
  --heartbeat-timeout <ms>    close a session silent this long with
                              heartbeat-timeout; above the interval (default ${DEFAULTS.heartbeatTimeout})
  --handshake-timeout <ms>    time a new session has to send its first valid
                              frame, else handshake-timeout (default ${DEFAULTS.handshakeTimeout})
  --max-payload <bytes>       largest payload a frame may declare, else
                              frame-too-large (default ${DEFAULTS.maxPayload})
  --no-handshake              sessions are active on accept, as in zero
  --max-messages-per-second <n>
                              close a session sending faster with
                              rate-limited (default off)
  --inspect[=<port>]          start a Stately inspector relay (default port
                              ${DEFAULT_INSPECT_PORT}) and print the page to open
  --inspect-url <ws-url>      send inspection to a relay already running
  --inspect-file <path>       append inspection as JSON lines to a file
  -h, --help                  show this help and exit

Commands:
  machines                    print the statecharts as JSON for the Stately
                              editor (--json, default) or as Mermaid (--mermaid)
  timeline <file>             per session, its states with times and its close
                              reason, from an --inspect-file log

Exit codes: 0 stopped by a signal, 1 could not listen, 2 invalid arguments.
`

/** Reads the command line; throws {@link OptionError} for anything it cannot run. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [first, ...rest] = argv
  if (first === 'machines') return parseMachines(rest)
  if (first === 'timeline') return parseTimeline(rest)
  if (first !== undefined && !first.startsWith('-')) throw new OptionError(`Unknown command \`${first}\``)
  return parseServe(argv)
}

function parseMachines(argv: readonly string[]): CliCommand {
  const { values } = parseFlags(argv, { json: { type: 'boolean' }, mermaid: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } })
  if (values.help === true) return { command: 'help' }
  if (values.json === true && values.mermaid === true) throw new OptionError('Expected one of `--json` and `--mermaid`, got both')
  return { command: 'machines', format: values.mermaid === true ? 'mermaid' : 'json' }
}

function parseTimeline(argv: readonly string[]): CliCommand {
  const [file, ...extra] = argv
  if (file === undefined || file.startsWith('-') || extra.length > 0) {
    throw new OptionError('Expected `timeline <file>` with the path of an --inspect-file log')
  }
  return { command: 'timeline', file }
}

function parseServe(argv: readonly string[]): CliCommand {
  // `--inspect` takes an optional value, which parseArgs cannot express: a bare one means the default port.
  const { values } = parseFlags(
    joinNegativeValues(argv).map((arg) => (arg === '--inspect' ? `--inspect=${DEFAULT_INSPECT_PORT}` : arg)),
    SERVE_FLAGS,
  )
  if (values.help === true) return { command: 'help' }
  const settings: ServeSettings = {
    host: values.host ?? DEFAULT_HOST,
    port: values.port === undefined ? DEFAULT_PORT : integerFlag('--port', values.port),
    heartbeatInterval: optionalInteger('--heartbeat-interval', values['heartbeat-interval'], DEFAULTS.heartbeatInterval),
    heartbeatTimeout: optionalInteger('--heartbeat-timeout', values['heartbeat-timeout'], DEFAULTS.heartbeatTimeout),
    handshake: values['no-handshake'] !== true,
    handshakeTimeout: optionalInteger('--handshake-timeout', values['handshake-timeout'], DEFAULTS.handshakeTimeout),
    maxPayload: optionalInteger('--max-payload', values['max-payload'], DEFAULTS.maxPayload),
    maxMessagesPerSecond: optionalInteger('--max-messages-per-second', values['max-messages-per-second'], DEFAULTS.maxMessagesPerSecond),
    inspect: inspectTarget(values.inspect, values['inspect-url']),
    inspectFile: values['inspect-file'] ?? null,
  }
  if (settings.inspectFile === '') throw new OptionError('Expected `--inspect-file` to be a path, got an empty string')
  if (settings.host === '') throw new OptionError('Expected `--host` to be a host name or address, got an empty string')
  if (settings.port < 0 || settings.port > 65535) {
    throw new OptionError(`Expected \`--port\` to be an integer from 0 to 65535, got \`${settings.port}\``)
  }
  // The server's own validation, so the CLI accepts exactly what createServer accepts.
  try {
    resolveOptions(serverOptions(settings))
  } catch (error) {
    if (error instanceof OptionError) throw new OptionError(nameFlags(error.message))
    throw error
  }
  return { command: 'serve', ...settings }
}

function inspectTarget(port: string | undefined, url: string | undefined): ServeSettings['inspect'] {
  if (port !== undefined && url !== undefined) throw new OptionError('Expected one of `--inspect` and `--inspect-url`, got both')
  if (url !== undefined) {
    if (!/^wss?:\/\/./.test(url)) throw new OptionError(`Expected \`--inspect-url\` to be a ws:// or wss:// URL, got \`${url}\``)
    return { url }
  }
  if (port === undefined) return null
  const value = integerFlag('--inspect', port)
  if (value < 1 || value > 65535) throw new OptionError(`Expected \`--inspect\` to be a port from 1 to 65535, got \`${port}\``)
  return { port: value }
}

function parseFlags<T extends ParseArgsConfig['options']>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false })
  } catch (error) {
    // parseArgs throws a TypeError with an ERR_PARSE_ARGS_* code: unknown flag, missing value, ...
    if (error instanceof Error && String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) {
      throw new OptionError(error.message.split('\n')[0]!)
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
    if (name in SERVE_FLAGS && SERVE_FLAGS[name as keyof typeof SERVE_FLAGS].type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

function optionalInteger(flag: string, raw: string | undefined, fallback: number): number {
  return raw === undefined ? fallback : integerFlag(flag, raw)
}

/** Decimal digits only: `1e3`, `0x10`, `5ms` and `` are mistakes, not numbers. Ranges are checked later. */
function integerFlag(flag: string, raw: string): number {
  if (!/^-?\d+$/.test(raw)) throw new OptionError(`Expected \`${flag}\` to be an integer, got \`${raw}\``)
  return Number(raw)
}

function nameFlags(message: string): string {
  return message.replace(/`([\w.]+)`/g, (match, name: string) => {
    const flag = FLAG_OF_OPTION[name]
    return flag === undefined ? match : `\`${flag}\``
  })
}

function serverOptions(settings: ServeSettings): ServerOptions {
  return {
    heartbeat: { interval: settings.heartbeatInterval, timeout: settings.heartbeatTimeout },
    handshake: settings.handshake,
    handshakeTimeout: settings.handshakeTimeout,
    maxPayload: settings.maxPayload,
    maxMessagesPerSecond: settings.maxMessagesPerSecond,
  }
}

/** Runs the command line and resolves with the process's exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let command: CliCommand
  try {
    command = parseCliArgs(argv)
  } catch (error) {
    if (!(error instanceof OptionError)) throw error
    io.stderr(`zerostate: ${error.message} (see zerostate --help)\n`)
    return 2
  }
  switch (command.command) {
    case 'help':
      io.stdout(USAGE)
      return 0
    case 'serve':
      return serve(command, io)
    case 'machines':
      io.stdout(`${command.format === 'mermaid' ? machinesAsMermaid() : machinesAsJson()}\n`)
      return 0
    case 'timeline':
      try {
        io.stdout(`${formatTimeline(readFileSync(command.file, 'utf8'))}\n`)
        return 0
      } catch (error) {
        io.stderr(`zerostate: cannot read ${command.file}: ${error instanceof Error ? error.message : String(error)}\n`)
        return 1
      }
  }
}

const MACHINES = { connection: connectionMachine, supervisor: supervisorMachine, gameLogic: gameLogicMachine }

function machinesAsJson(): string {
  return JSON.stringify(Object.fromEntries(Object.entries(MACHINES).map(([name, machine]) => [name, machine.toJSON()])), null, 2)
}

function machinesAsMermaid(): string {
  return Object.entries(MACHINES)
    .map(([name, machine]) => `%% ${name}\n${toMermaid(machine)}`)
    .join('\n\n')
}

async function serve(settings: ServeSettings, io: CliIo): Promise<number> {
  const log = (line: string) => io.stderr(`${line}\n`)
  const relay = settings.inspect === null ? null : createRelayInspector(settings.inspect)
  const file = settings.inspectFile === null ? null : createFileInspector(settings.inspectFile)
  const observers = [relay?.inspect, file?.inspect].filter((observer) => observer !== undefined)
  const server = createServer({
    ...serverOptions(settings),
    inspect: observers.length === 0 ? undefined : (event) => observers.forEach((observer) => observer.next?.(event)),
  })
  server.onConnect((session) => log(`connect ${session.id} ${session.remoteAddress} ${session.state}`))
  server.onMessage((session, message) => {
    session.send(message)
  })
  server.onDisconnect((session, error) => log(`disconnect ${session.id} ${session.remoteAddress} ${error.code}`))
  server.onError((error, session) => log(`error ${session?.id ?? '-'} ${error.message}`))

  // Signal handlers go in before anything is printed: the log is written from libuv's thread pool,
  // so a supervisor can read the start line and signal us before this thread runs another line.
  let stoppingSince: number | null = null
  let finish: (code: number) => void = () => {}
  const exitCode = new Promise<number>((resolve) => {
    finish = (code) => {
      for (const [signal, listener] of listeners) io.signals.off(signal, listener)
      relay?.stop()
      void (file?.close() ?? Promise.resolve()).finally(() => resolve(code))
    }
  })
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppingSince !== null) {
      // Ctrl-C reaches the whole process group, and `npm start` relays it too: a copy that close
      // behind the first is the same request, not an impatient second one.
      if (performance.now() - stoppingSince < DUPLICATE_SIGNAL_MS) return
      log(`zerostate: ${signal} again, exiting without waiting`)
      finish(0)
      return
    }
    stoppingSince = performance.now()
    log(`zerostate: ${signal}, stopping ${server.connectionCount} session(s)`)
    server.stop().then(
      () => {
        log('zerostate: stopped')
        finish(0)
      },
      (error: unknown) => {
        log(`zerostate: stop failed: ${error instanceof Error ? error.message : String(error)}`)
        finish(1)
      },
    )
  }
  const listeners = (['SIGINT', 'SIGTERM'] as const).map((signal) => [signal, () => onSignal(signal)] as const)
  for (const [signal, listener] of listeners) io.signals.on(signal, listener)

  let address: Address
  try {
    address = await server.listen({ host: settings.host, port: settings.port })
  } catch (error) {
    log(`zerostate: cannot listen on ${formatAddress(settings)}: ${error instanceof Error ? error.message : String(error)}`)
    // The server never listened, so there is nothing to drain; the bound only guards against a stuck stop.
    await Promise.race([server.stop(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
    finish(1)
    return exitCode
  }
  const handshake = settings.handshake ? `handshake on, ${settings.handshakeTimeout} ms` : 'handshake off'
  log(
    `zerostate listening on ${formatAddress(address)} ` +
      `(heartbeat ${settings.heartbeatInterval}/${settings.heartbeatTimeout} ms, ${handshake}, max payload ${settings.maxPayload} bytes)`,
  )
  if (relay?.pageUrl) log(`zerostate inspector: open ${relay.pageUrl} to watch every session in the Stately inspector`)
  else if (settings.inspect !== null && 'url' in settings.inspect) log(`zerostate inspector: sending to ${settings.inspect.url}`)
  if (file !== null) log(`zerostate inspector: writing ${settings.inspectFile} (read it with: zerostate timeline ${settings.inspectFile})`)
  return exitCode
}

/** A signal this soon after the first is a relayed copy of it (see `serve`). */
const DUPLICATE_SIGNAL_MS = 300

function formatAddress({ host, port }: { host: string; port: number }): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

function processIo(): CliIo & { flush(timeoutMs: number): Promise<void> } {
  const stderr = new FdWriter(2)
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: stderr.write,
    signals: process,
    flush: (timeoutMs) => stderr.flush(timeoutMs),
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  const io = processIo()
  main(process.argv.slice(2), io).then(
    async (code) => {
      await io.flush(1_000)
      process.exit(code)
    },
    async (error: unknown) => {
      io.stderr(`zerostate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
      await io.flush(1_000)
      process.exit(1)
    },
  )
}
