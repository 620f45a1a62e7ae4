import { readFileSync } from 'node:fs'
import { formatTimeline } from '../inspect/timeline.js'
import type { CliIo } from './io.js'

/**
 * `zerostate timeline <file> [<file> ...]`: prints the per-session account of `--inspect-file`
 * logs, one per node of a cluster merged into one account; 1 if one cannot be read or parsed.
 */
export function timeline(files: readonly string[], io: CliIo): number {
  let text: string
  let reading = files[0]!
  try {
    const logs: string[] = []
    for (const file of files) {
      reading = file
      logs.push(readFileSync(file, 'utf8'))
    }
    reading = files.join(', ')
    text = formatTimeline(logs.join('\n'))
  } catch (error) {
    io.stderr(`zerostate: cannot read ${reading}: ${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }
  io.stdout(`${text}\n`)
  return 0
}
