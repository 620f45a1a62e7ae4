import { FdWriter } from '../fdWriter.js'

/** Where SIGINT and SIGTERM arrive: `process`, or a stand-in in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown
  off(signal: NodeJS.Signals, listener: () => void): unknown
}

/** Everything `main` touches outside itself. */
export interface CliIo {
  /** Command output (the usage text, `machines`, `timeline`). */
  stdout(text: string): void
  /** Log lines and error messages. */
  stderr(text: string): void
  signals: SignalSource
}

/** The real process's streams; stderr is written off the event loop (see {@link FdWriter}). */
export function processIo(): CliIo & { flush(timeoutMs: number): Promise<void> } {
  const stderr = new FdWriter(2)
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: stderr.write,
    signals: process,
    flush: (timeoutMs) => stderr.flush(timeoutMs),
  }
}
