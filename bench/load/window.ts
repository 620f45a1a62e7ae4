import { sleep } from '../clock.js'
import type { Window } from '../messages.js'

/** This process's CPU time in ms (user + system). */
export function cpuMs(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

/**
 * Rate of `read()` per second over the window, after the warm-up (JIT, buffers) is discarded,
 * and the share of a core the generator used meanwhile: near 1 means the generator, not the
 * server, may be what limits the figure.
 */
export async function measureRate(window: Window, read: () => number): Promise<{ rate: number; generatorCpu: number }> {
  await sleep(window.warmupMs)
  const start = read()
  const startedAt = performance.now()
  const cpuAt = cpuMs()
  await sleep(window.durationMs)
  const elapsed = performance.now() - startedAt
  return { rate: ((read() - start) * 1000) / elapsed, generatorCpu: (cpuMs() - cpuAt) / elapsed }
}
