import { readFileSync } from 'node:fs'
import { formatTimeline } from '../inspect/timeline.js'
import type { CliIo } from './io.js'

/** `zerostate timeline <file>`: prints the per-session account of an `--inspect-file` log; 1 if it cannot be read or parsed. */
export function timeline(file: string, io: CliIo): number {
  let text: string
  try {
    text = formatTimeline(readFileSync(file, 'utf8'))
  } catch (error) {
    io.stderr(`zerostate: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }
  io.stdout(`${text}\n`)
  return 0
}
