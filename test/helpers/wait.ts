/**
 * Small waits for I/O in integration tests. Time-driven logic (heartbeats, handshake deadline)
 * is advanced with an injected SimulatedClock instead; nothing here sleeps for seconds.
 */

export interface WaitOptions {
  /** Give up after this many ms of real time. @default 2_000 */
  timeout?: number
  /** Poll every this many ms. @default 2 */
  interval?: number
  /** Shown in the error when the condition never holds. */
  message?: string
}

/** Polls `condition` until it returns true; rejects after `timeout` ms. */
export async function waitFor(condition: () => boolean, options: WaitOptions = {}): Promise<void> {
  const { timeout = 2_000, interval = 2, message } = options
  const deadline = performance.now() + timeout
  for (;;) {
    if (condition()) return
    if (performance.now() > deadline) {
      throw new Error(`waitFor: condition not met within ${timeout} ms${message ? `: ${message}` : ''}`)
    }
    await sleep(interval)
  }
}

/** Real-time sleep; only for a few ms of I/O settling. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** One turn of the event loop, including its poll phase, so pending socket reads are processed. */
export function nextIO(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Lets a few event-loop turns pass so that any (wrongly) pending I/O would show up. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await nextIO()
  await sleep(5)
}

/** Rejects if `promise` does not settle within `ms` of real time. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
