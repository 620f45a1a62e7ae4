/**
 * The waits of the tests and the load runners (test/ and stress/ both import these). Time-driven
 * logic (heartbeats, handshake deadline, handler timeouts) is advanced with an injected
 * SimulatedClock instead; nothing here sleeps for seconds. Waits poll a condition at short
 * intervals and give up at a cap, which bounds a broken run, not the speed of a correct one.
 */

/** Real-time sleep; only for a few ms of I/O settling. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** One turn of the event loop, poll phase included, so settled promises and pending socket reads are processed. */
export function nextIO(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Lets a few event-loop turns pass so that any (wrongly) pending I/O would show up. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await nextIO()
  await sleep(5)
}

/** Polls `condition` every `interval` ms; resolves true when it holds, false once `timeout` ms have passed. */
export async function until(condition: () => boolean, timeout: number, interval = 2): Promise<boolean> {
  const deadline = performance.now() + timeout
  for (;;) {
    if (condition()) return true
    if (performance.now() > deadline) return false
    await sleep(interval)
  }
}

export interface WaitOptions {
  /** Give up after this many ms of real time. @default 2_000 */
  timeout?: number
  /** Poll every this many ms. @default 2 */
  interval?: number
  /** Shown in the error when the condition never holds; a function is called only then. */
  message?: string | (() => string)
}

/** Like {@link until}, but rejects (naming `message`) when the condition never held. */
export async function waitFor(condition: () => boolean, options: WaitOptions = {}): Promise<void> {
  const { timeout = 2_000, interval = 2, message } = options
  if (await until(condition, timeout, interval)) return
  const what = typeof message === 'function' ? message() : message
  throw new Error(`not within ${timeout} ms${what === undefined ? '' : `: ${what}`}`)
}

/** Resolves with the promise's value, or with `fallback` once `ms` of real time have passed. */
export function orAfter<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

const LATE = Symbol('late')

/** Like {@link orAfter}, but rejects (naming `what`) if `promise` does not settle within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const result = await orAfter(promise, ms, LATE)
  if (result === LATE) throw new Error(`${what} did not settle within ${ms} ms`)
  return result
}
