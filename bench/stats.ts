import type { Percentiles } from './messages.js'

/** Nearest-rank percentiles of `samples` (sorted in place). */
export function percentiles(samples: Float64Array): Percentiles {
  samples.sort()
  const count = samples.length
  const rank = (q: number): number => (count === 0 ? Number.NaN : samples[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))]!)
  return { p50: rank(0.5), p99: rank(0.99), p999: rank(0.999), max: count === 0 ? Number.NaN : samples[count - 1]!, count }
}

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (finite.length === 0) return Number.NaN
  const middle = finite.length >> 1
  return finite.length % 2 === 1 ? finite[middle]! : (finite[middle - 1]! + finite[middle]!) / 2
}
