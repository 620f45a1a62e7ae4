/**
 * The flags of `npm run demo` (examples/arena/server.ts), parsed and checked: the page's port
 * (18800, beside zerostate's defaults of 18787-18789 so a demo and the tests never meet), the
 * bots' TCP port next to it, bots to start, inspection, and how long a lost player may take to
 * come back.
 */
import { parseArgs } from 'node:util'

/** Where a bare `--inspect` starts the inspector relay: beside the demo's ports. */
export const INSPECT_PORT = 18802

/** The flags, as `parseArgs` takes them; the defaults are the documented ones. */
export const DEMO_FLAGS = {
  port: { type: 'string', default: '18800' },
  'tcp-port': { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  bots: { type: 'string', default: '0' },
  inspect: { type: 'string' },
  'inspect-file': { type: 'string' },
  'resume-grace': { type: 'string', default: '15000' },
} as const

/** The longest `--resume-grace`: an hour, past which a lost player is not coming back to this round. */
export const MAX_RESUME_GRACE = 3_600_000

export interface DemoArgs {
  host: string
  /** The page and its WebSocket sessions; 0 picks a free port. */
  port: number
  /** The bots' TCP port: `port + 1` unless given (0 with `port` 0). */
  tcpPort: number
  bots: number
  /** The inspector relay's port, or null for none. */
  inspect: number | null
  inspectFile: string | null
  /** How long a player whose connection is lost keeps its seat, in ms; 0: resume off, a lost player leaves at once. */
  resumeGrace: number
}

export class DemoArgsError extends Error {
  readonly code = 'invalid-flag'
  constructor(message: string) {
    super(message)
    this.name = 'DemoArgsError'
  }
}

/** The demo's settings from its command line (`process.argv.slice(2)`); throws a {@link DemoArgsError}. */
export function demoArgs(argv: readonly string[]): DemoArgs {
  // parseArgs wants a value for a string option: a bare --inspect means the default port.
  const args = argv.map((arg, i) => (arg === '--inspect' && (argv[i + 1] ?? '--').startsWith('--') ? `--inspect=${INSPECT_PORT}` : arg))
  let values: { [Flag in keyof typeof DEMO_FLAGS]?: string }
  try {
    values = parseArgs({ args, options: DEMO_FLAGS }).values
  } catch (error) {
    throw new DemoArgsError((error as Error).message)
  }
  const port = portOf('--port', values.port!)
  return {
    host: values.host!,
    port,
    tcpPort: values['tcp-port'] === undefined ? (port === 0 ? 0 : port + 1) : portOf('--tcp-port', values['tcp-port']),
    bots: countOf('--bots', values.bots!),
    inspect: values.inspect === undefined ? null : portOf('--inspect', values.inspect),
    inspectFile: values['inspect-file'] ?? null,
    resumeGrace: graceOf('--resume-grace', values['resume-grace']!),
  }
}

function portOf(flag: string, text: string): number {
  const value = Number(text)
  if (text === '' || !Number.isInteger(value) || value < 0 || value > 65_535) throw new DemoArgsError(`${flag} wants a port from 0 to 65535, got ${JSON.stringify(text)}`)
  return value
}

function graceOf(flag: string, text: string): number {
  const value = Number(text)
  if (text === '' || !Number.isInteger(value) || value < 0 || value > MAX_RESUME_GRACE) {
    throw new DemoArgsError(`${flag} wants milliseconds from 0 (off) to ${MAX_RESUME_GRACE}, got ${JSON.stringify(text)}`)
  }
  return value
}

function countOf(flag: string, text: string): number {
  const value = Number(text)
  if (text === '' || !Number.isInteger(value) || value < 0 || value > 64) throw new DemoArgsError(`${flag} wants a number of bots from 0 to 64, got ${JSON.stringify(text)}`)
  return value
}
