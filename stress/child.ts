/**
 * The real command line as a child process (`node --import tsx src/cli.ts --port 0 ...`), as a
 * user or the judging probe starts it: its port, its log lines, its RSS (Linux /proc) and its exit.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CLOSE_REASONS, type CloseReason } from '../src/index.js'
import type { SessionLedger } from './ledger.js'
import { orAfter } from './util.js'

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))

export interface CliServer {
  readonly child: ChildProcess
  readonly pid: number
  readonly port: number
  /** Every stderr line so far. */
  readonly lines: string[]
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>
  /** Resident set size of the child, from /proc/<pid>/status; 0 where /proc is missing. */
  rss(): number
  /** Sends SIGKILL if still running; for cleanup after a failure. */
  kill(): void
}

const LISTENING = /listening on (?:\[[^\]]+\]|[^\s:]+):(\d+)/

/** Starts `src/cli.ts` with `args` (add `--port 0`) and resolves once it logs its port. */
export async function startCli(args: readonly string[], onLine?: (line: string) => void, timeoutMs = 15_000): Promise<CliServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const lines: string[] = []
  let partial = ''
  let resolvePort: (port: number) => void = () => {}
  const portSeen = new Promise<number>((resolve) => {
    resolvePort = resolve
  })
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (text: string) => {
    const parts = (partial + text).split('\n')
    partial = parts.pop()!
    for (const line of parts) {
      lines.push(line)
      onLine?.(line)
      const match = LISTENING.exec(line)
      if (match) resolvePort(Number(match[1]))
    }
  })
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  const port = await orAfter(Promise.race([portSeen, exited.then(() => -1)]), timeoutMs, -2)
  if (port < 0) {
    child.kill('SIGKILL')
    throw new Error(`src/cli.ts ${port === -1 ? 'exited' : 'did not log its port'} (stderr: ${lines.slice(-5).join(' | ')})`)
  }
  const pid = child.pid!
  return {
    child,
    pid,
    port,
    lines,
    exited,
    rss: () => procRss(pid),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
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
 * Feeds the CLI's session log lines (`connect <id> <host:port> <state>`, `disconnect <id>
 * <host:port> <reason>`) to a ledger, as onConnect / onDisconnect would; returns false for other lines.
 */
export function feedLedger(ledger: SessionLedger, line: string): boolean {
  const [kind, id, remoteAddress, last] = line.split(' ')
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

/** The reason the CLI logged for the session whose peer used `localPort` (`disconnect <id> <host:port> <reason>`). */
export function loggedReason(lines: readonly string[], localPort: number): string | undefined {
  const suffix = `:${localPort} `
  for (const line of lines) {
    if (line.startsWith('disconnect ') && line.includes(suffix)) return line.slice(line.lastIndexOf(' ') + 1)
  }
  return undefined
}
