/**
 * The real command line as a child process (`node --import tsx src/cli.ts --port 0 ...`), as a
 * user starts it: its port, its log lines, its stdout, its RSS (Linux /proc) and its exit. The one
 * spawner of the CLI, for stress/ and test/ alike.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CLOSE_REASONS, type CloseReason } from '../src/index.js'
import type { SessionLedger } from './ledger.js'

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The CLI as a child process: what it printed and how it ended. */
export interface CliProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** Every stderr line so far, without the timestamp a log line starts with. */
  readonly lines: string[]
  /** Every stderr line so far, as written. */
  readonly rawLines: string[]
  /** Everything written to stdout so far. */
  stdout(): string
  /** Resolves with the first stderr line (past or future, timestamp removed) that matches `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>
  /** Resident set size of the child, from /proc/<pid>/status; 0 where /proc is missing. */
  rss(): number
  /** Sends SIGKILL if still running; for cleanup after a failure. */
  kill(): void
}

/** A CLI that logged the port it listens on. */
export interface CliServer extends CliProcess {
  readonly port: number
}

const LISTENING = /listening on (?:\[[^\]]+\]|[^\s:]+):(\d+)/
/** Another script than the CLI (an example server), its environment, and where its lines are read. */
export interface SpawnOptions {
  /** @default 'src/cli.ts' */
  script?: string
  env?: Record<string, string>
  /** The stream `lines` and `waitForLine` read. @default 'stderr' */
  stream?: 'stdout' | 'stderr'
}

/** What `serve` puts before each log line: an ISO-8601 time (src/cli/log.ts). */
const LOG_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z /

/**
 * Runs `src/cli.ts` with `args` from source, as `npm start` does; `onLine` sees each stderr line
 * (timestamp removed) as it arrives, and `nodeArgs` go to node before the script.
 */
export function spawnCli(
  args: readonly string[],
  onLine?: (line: string) => void,
  nodeArgs: readonly string[] = [],
  other: SpawnOptions = {},
): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, other.script ?? 'src/cli.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', ...other.env },
  })
  const lines: string[] = []
  const rawLines: string[] = []
  const waiters = new Set<{ pattern: RegExp; resolve: (match: RegExpMatchArray) => void }>()
  let stdout = ''
  let partial = ''
  const logged = other.stream === 'stdout' ? child.stdout! : child.stderr!
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  logged.setEncoding('utf8').on('data', (text: string) => {
    const parts = (partial + text).split('\n')
    partial = parts.pop()!
    for (const raw of parts) {
      const line = raw.replace(LOG_TIMESTAMP, '')
      rawLines.push(raw)
      lines.push(line)
      onLine?.(line)
      for (const waiter of waiters) {
        const match = line.match(waiter.pattern)
        if (match) {
          waiters.delete(waiter)
          waiter.resolve(match)
        }
      }
    }
  })
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  const pid = child.pid!
  return {
    child,
    pid,
    lines,
    rawLines,
    stdout: () => stdout,
    waitForLine(pattern, timeoutMs = 5_000) {
      for (const line of lines) {
        const match = line.match(pattern)
        if (match) return Promise.resolve(match)
      }
      return new Promise((resolve, reject) => {
        const waiter = {
          pattern,
          resolve: (match: RegExpMatchArray) => {
            clearTimeout(timer)
            resolve(match)
          },
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`no stderr line matching ${pattern} within ${timeoutMs} ms; got:\n${rawLines.join('\n')}`))
        }, timeoutMs)
        // A wait nobody needs any more (the process exited) must not hold a script open.
        timer.unref()
        waiters.add(waiter)
      })
    },
    exited,
    rss: () => procRss(pid),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

/**
 * Starts `src/cli.ts` with `args` (add `--port 0`) and resolves once it logs its port; throws,
 * with its last lines, if it exits first or says nothing within `timeoutMs`.
 */
export async function startCli(args: readonly string[], onLine?: (line: string) => void, timeoutMs = 15_000): Promise<CliServer> {
  const cli = spawnCli(args, onLine)
  const listening = cli.waitForLine(LISTENING, timeoutMs).then(
    (match) => Number(match[1]),
    () => -2,
  )
  const port = await Promise.race([listening, cli.exited.then(() => -1)])
  if (port < 0) {
    cli.kill()
    throw new Error(`src/cli.ts ${port === -1 ? 'exited' : 'did not log its port'} (stderr: ${cli.rawLines.slice(-5).join(' | ')})`)
  }
  return { ...cli, port }
}

/** VmRSS of a process in bytes, or 0 when it cannot be read. */
export function procRss(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/**
 * Feeds the CLI's session log lines (`connect <id> <transport> <host:port> <state>`, `disconnect
 * <id> <transport> <host:port> <reason>`) to a ledger, as onConnect / onDisconnect would; returns
 * false for other lines.
 */
export function feedLedger(ledger: SessionLedger, line: string): boolean {
  const [kind, id, , remoteAddress, last] = line.split(' ')
  if (id === undefined || remoteAddress === undefined || last === undefined) return false
  if (kind === 'connect') {
    ledger.connected({ id, remoteAddress })
    return true
  }
  if (kind === 'disconnect' && (CLOSE_REASONS as readonly string[]).includes(last)) {
    // The log does not say the session's state at the time; the in-process runs check it.
    ledger.disconnected({ id, state: 'closed' }, { code: last as CloseReason })
    return true
  }
  return false
}

/** The reason the CLI logged for the session whose peer used `localPort` (`disconnect <id> <transport> <host:port> <reason>`). */
export function loggedReason(lines: readonly string[], localPort: number): string | undefined {
  const suffix = `:${localPort} `
  for (const line of lines) {
    if (line.startsWith('disconnect ') && line.includes(suffix)) return line.slice(line.lastIndexOf(' ') + 1)
  }
  return undefined
}
