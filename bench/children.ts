import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** How the cores are shared between the server under test and the load generator. */
export interface Placement {
  serverCpu: number | null
  loadCpu: number | null
  description: string
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * With taskset and two cores or more, the server gets CPU 0 to itself and the generator (and this
 * orchestrator, which mostly waits) CPU 1, so neither steals the other's core. Every thread of
 * this process moves (`-a`): V8's garbage-collector and compiler threads left where they were
 * would run on the server's core and delay it by milliseconds at a time.
 */
export function placeProcesses(): Placement {
  const cores = os.availableParallelism()
  if (cores < 2) return { serverCpu: null, loadCpu: null, description: `${cores} core: server and generator share it (results understate the server)` }
  if (!hasTaskset()) {
    return { serverCpu: null, loadCpu: null, description: `${cores} cores, no taskset: server and generator are left to the OS scheduler` }
  }
  execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' })
  return {
    serverCpu: 0,
    loadCpu: 1,
    description: `${cores} cores: server pinned to CPU 0 (taskset -c 0); load generator and orchestrator on CPU 1 (taskset -c 1)`,
  }
}

/** The open-file hard limit, which caps the sessions one server process can hold. */
export function openFileHardLimit(): number {
  const text = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
  return text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text)
}

/**
 * Starts `bench/<script>` under tsx with an IPC channel. The soft open-file limit is raised to the
 * hard one (each idle session is a file descriptor on both ends). Child stdout goes to our stderr,
 * so that with --json our stdout ends with the JSON line.
 */
export function spawnBenchChild(script: string, cpu: number | null, nodeFlags: string[] = [], nice = 0): ChildProcess {
  const node = [process.execPath, ...nodeFlags, '--import', 'tsx', path.join('bench', script)]
  const niced = nice === 0 ? node : ['nice', '-n', String(nice), ...node]
  const command = cpu === null ? niced : ['taskset', '-c', String(cpu), ...niced]
  return spawn('bash', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bench-child', ...command], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 2, 2, 'ipc'],
  })
}

/**
 * Moves every thread of a running child to `cpu`: a server child started early on the generator's
 * core (see run.ts) goes to the server's core when its run begins.
 */
export function pinProcess(pid: number, cpu: number): void {
  execFileSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' })
}

/** Ends a child: politely through its IPC channel, then by force. */
export async function endChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  if (child.connected) child.disconnect()
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
  await exited
  clearTimeout(timer)
}
