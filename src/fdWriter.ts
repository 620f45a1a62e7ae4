import { write as writeFd } from 'node:fs'

/** Pending log text beyond which lines are dropped (and counted) rather than held in memory. */
const MAX_PENDING_LOG = 1 << 20

/**
 * Writes log text to a file descriptor off the event loop, one write at a time and in order.
 * `process.stderr` writes synchronously to a pipe, so a reader that falls behind (or never reads)
 * would stall every session once the pipe is full; here it only delays the log.
 */
export class FdWriter {
  private pending: string[] = []
  private pendingBytes = 0
  private dropped = 0
  private writing = false
  private broken = false
  private idle: (() => void)[] = []

  constructor(private readonly fd: number) {}

  readonly write = (text: string): void => {
    if (this.broken) return
    if (this.pendingBytes + text.length > MAX_PENDING_LOG) {
      this.dropped++
      return
    }
    if (this.dropped > 0) {
      text = `zerostate: ${this.dropped} log line(s) dropped, stderr is not being read\n${text}`
      this.dropped = 0
    }
    this.pending.push(text)
    this.pendingBytes += text.length
    if (!this.writing) this.next()
  }

  /** Resolves once everything queued is written, or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void> {
    if (!this.writing) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      this.idle.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  private next(): void {
    if (this.pending.length === 0 || this.broken) {
      this.writing = false
      for (const resolve of this.idle.splice(0)) resolve()
      return
    }
    this.writing = true
    const chunk = Buffer.from(this.pending.join(''))
    this.pending = []
    this.pendingBytes = 0
    this.writeAll(chunk, 0)
  }

  private writeAll(chunk: Buffer, offset: number): void {
    writeFd(this.fd, chunk, offset, chunk.length - offset, null, (error, written) => {
      if (error) {
        if (error.code === 'EAGAIN') {
          setTimeout(() => this.writeAll(chunk, offset), 10).unref()
          return
        }
        // EPIPE and the like: nobody is listening, and logging must not take the server down.
        this.broken = true
      } else if (offset + written < chunk.length) {
        this.writeAll(chunk, offset + written)
        return
      }
      this.next()
    })
  }
}
