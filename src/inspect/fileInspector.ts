import { createWriteStream } from 'node:fs'
import type { InspectionEvent, Observer } from 'xstate'
import { toInspectionRecord } from './inspectionRecord.js'

export interface FileInspector {
  inspect: Observer<InspectionEvent>
  /** Flushes and closes the file. */
  close(): Promise<void>
}

/**
 * Writes the inspection stream as JSON lines, one event a line with a timestamp, for machines
 * with no internet or for later reading with `zerostate timeline`.
 */
export function createFileInspector(path: string): FileInspector {
  const stream = createWriteStream(path, { flags: 'a' })
  return {
    inspect: {
      next(event) {
        const record = toInspectionRecord(event, Date.now())
        if (record !== null) stream.write(`${JSON.stringify(record)}\n`)
      },
    },
    close: () => new Promise((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve()))),
  }
}
