/**
 * Small shared pieces of the load runners: an RSS sampler, percentiles, a GC handle, resource
 * counts, a tiny flag parser and a seeded PRNG. The waits they use are the tests' own
 * (test/helpers/wait.ts).
 */
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { nextIO, sleep } from '../test/helpers/wait.js'

// orAfter is re-exported for stress/child.ts, which still imports it from here.
export { orAfter } from '../test/helpers/wait.js'

/** The port of a `host:port` remote address. */
export function portOf(remoteAddress: string): number {
  return Number(remoteAddress.slice(remoteAddress.lastIndexOf(':') + 1))
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

export const MiB = 1024 * 1024

export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`
}

/** Samples an RSS (this process's by default) on an interval and keeps the maximum. */
export class RssSampler {
  max: number
  readonly start: number
  private readonly timer: NodeJS.Timeout

  /** `read` gives the RSS to sample: this process's by default. */
  constructor(
    intervalMs = 50,
    private readonly read: () => number = () => process.memoryUsage.rss(),
  ) {
    this.max = this.start = read()
    this.timer = setInterval(() => this.sample(), intervalMs)
  }

  sample(): number {
    const rss = this.read()
    if (rss > this.max) this.max = rss
    return rss
  }

  stop(): number {
    clearInterval(this.timer)
    return this.sample()
  }
}

/**
 * A handle on V8's garbage collector: `global.gc` when node runs with --expose-gc, otherwise the
 * same function obtained by setting the flag at run time (works in vitest's forked workers).
 */
export function getGc(): (() => void) | null {
  if (typeof globalThis.gc === 'function') {
    const gc = globalThis.gc
    return () => void gc()
  }
  try {
    setFlagsFromString('--expose-gc')
    const gc: unknown = runInNewContext('gc')
    if (typeof gc === 'function') return () => void (gc as () => void)()
  } catch {
    // no GC handle: callers skip their memory assertions and say so
  }
  return null
}

/** Collects garbage a few times with I/O turns between, so finalizers and freed buffers settle. */
export async function collect(gc: () => void, rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    gc()
    await nextIO()
    await sleep(5)
  }
}

/** Active libuv resources of this process by kind (unref'd timers are not listed by Node). */
export function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

/** Kinds whose count differs between two {@link resourceCounts} snapshots, with the change. */
export function resourceDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {}
  for (const kind of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[kind] ?? 0) - (before[kind] ?? 0)
    if (d !== 0) delta[kind] = d
  }
  return delta
}

/** True when the module with this `import.meta.url` is the script node was started with. */
export function isMain(url: string): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return url === pathToFileURL(realpathSync(entry)).href
  } catch {
    return false
  }
}

/** `--name value` and `--flag` pairs; numbers are checked by {@link intFlag}. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`)
    const eq = arg.indexOf('=')
    if (eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1))
      continue
    }
    const next = argv[i + 1]
    if (next !== undefined && !next.startsWith('--')) {
      flags.set(arg.slice(2), next)
      i++
    } else {
      flags.set(arg.slice(2), 'true')
    }
  }
  return flags
}

export function intFlag(flags: Map<string, string>, name: string, fallback: number): number {
  const raw = flags.get(name)
  if (raw === undefined) return fallback
  const value = Number(raw.replace(/_/g, ''))
  if (!Number.isSafeInteger(value)) throw new Error(`--${name} expects an integer, got ${raw}`)
  return value
}

/** `--server cli|in-process`: whether the runner starts the CLI in a child process or a server in its own. */
export function serverFlag(flags: Map<string, string>, fallback: 'cli' | 'in-process'): 'cli' | 'in-process' {
  const mode = flags.get('server') ?? fallback
  if (mode !== 'cli' && mode !== 'in-process') throw new Error(`--server is cli or in-process, got ${mode}`)
  return mode
}

/** Prints a runner's summary (JSON with --json) and sets the exit code from `ok`. */
export function report(summary: { ok: boolean; failures: string[] }, json: boolean, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(summary)}\n` : text())
  process.exitCode = summary.ok ? 0 : 1
}

/** Deterministic PRNG (mulberry32): a run is replayed from its seed. */
export interface Prng {
  /** In [0, 1). */
  next(): number
  /** Integer in [0, max). */
  int(max: number): number
  /** Any int32. */
  int32(): number
  bytes(n: number): Buffer
}

export function prng(seed: number): Prng {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (max) => Math.floor(next() * max),
    int32: () => (next() * 4294967296) | 0,
    bytes: (n) => {
      const out = Buffer.allocUnsafe(n)
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256)
      return out
    },
  }
}
