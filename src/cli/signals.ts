import type { SignalSource } from './io.js'

/** A signal this soon after the first is a relayed copy of it, not a second request. */
export const DUPLICATE_SIGNAL_MS = 300

export interface StopRequests {
  /** The first SIGINT or SIGTERM: stop gracefully. */
  stop(signal: NodeJS.Signals): void
  /** Another one, later than {@link DUPLICATE_SIGNAL_MS} after the first: stop now. */
  force(signal: NodeJS.Signals): void
}

/**
 * Listens for SIGINT and SIGTERM and turns them into stop requests; returns the function that
 * removes the listeners. Ctrl-C reaches the whole process group and `npm start` relays it too, so
 * a copy close behind the first signal is the same request and is ignored.
 */
export function onStopSignals(signals: SignalSource, requests: StopRequests): () => void {
  let firstAt: number | null = null
  const listeners = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const listener = () => {
      if (firstAt === null) {
        firstAt = performance.now()
        requests.stop(signal)
      } else if (performance.now() - firstAt >= DUPLICATE_SIGNAL_MS) {
        requests.force(signal)
      }
    }
    signals.on(signal, listener)
    return [signal, listener] as const
  })
  return () => {
    for (const [signal, listener] of listeners) signals.off(signal, listener)
  }
}
