import { open } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import type { InspectionEvent, Observer } from 'xstate'
import { toInspectionRecord } from './inspectionRecord.js'

export interface FileInspector {
  inspect: Observer<InspectionEvent>
  /** Flushes and closes the file; resolves even if writing had failed. */
  close(): Promise<void>
}

export interface FileInspectorOptions {
  /**
   * Called once, with the first write error; the inspector then stops writing and the server goes
   * on. Without it the error is ignored the same way.
   */
  onError?: (error: Error) => void
  /** A cluster node's id, written into every record, so that `zerostate timeline` can merge the nodes' logs. */
  node?: string
}

/**
 * Opens `path` for appending (rejecting if it cannot be opened, so a bad path is found before
 * anything listens) and writes the inspection stream to it as JSON lines, one event a line with a
 * timestamp, for machines with no internet or for later reading with `zerostate timeline`.
 */
export async function openFileInspector(path: string, options: FileInspectorOptions = {}): Promise<FileInspector> {
  const handle = await open(path, 'a')
  return fileInspectorOn(handle.createWriteStream(), options)
}

/**
 * The inspector on a stream that is already open. A write error never escapes: it is reported
 * once and the inspector falls silent, since a log that fails must not take the server down.
 */
export function fileInspectorOn(stream: Writable, options: FileInspectorOptions = {}): FileInspector {
  let failed = false
  stream.on('error', (error: Error) => {
    if (failed) return
    failed = true
    options.onError?.(error)
    stream.destroy()
  })
  return {
    inspect: {
      next(event) {
        if (failed) return
        const record = toInspectionRecord(event, Date.now())
        if (record === null) return
        if (options.node !== undefined) record.node = options.node
        stream.write(`${JSON.stringify(record)}\n`)
      },
    },
    close: () =>
      new Promise((resolve) => {
        if (failed || stream.destroyed) {
          resolve()
          return
        }
        stream.end(() => resolve())
        // end's callback is not called when the final write fails; the error listener is.
        stream.once('error', () => resolve())
        stream.once('close', () => resolve())
      }),
  }
}
