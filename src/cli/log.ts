import type { CliIo } from './io.js'

export type Log = (line: string) => void

/**
 * The `serve` log: one stderr line per call, led by the wall-clock time in ISO 8601
 * (`2026-12-02T05:49:27.123Z zerostate listening on ...`), so a log read later says when.
 */
export function createLog(io: Pick<CliIo, 'stderr'>, now: () => number = Date.now): Log {
  return (line) => io.stderr(`${new Date(now()).toISOString()} ${line}\n`)
}

/** How a log line starts: what readers of the log strip to get at the message. */
export const LOG_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z /
