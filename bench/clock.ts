/**
 * Milliseconds since the epoch with sub-millisecond resolution. Unlike `performance.now()`, it is
 * comparable across processes, so a server child can stamp a broadcast and the generator can stamp
 * its arrival.
 */
export function epochNow(): number {
  return performance.timeOrigin + performance.now()
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
