#!/usr/bin/env node
/**
 * The `zerostate` command: a session server whose game echoes every message back to its sender,
 * so `npm start` and any zero client show something at once. The commands live in `src/cli/`
 * (flags in args.ts, then serve, machines and timeline); this file is the entry point.
 */
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { processIo } from './cli/io.js'
import { main } from './cli/main.js'

export { type CliCommand, DEFAULT_HOST, DEFAULT_INSPECT_PORT, DEFAULT_PORT, parseCliArgs, type ServeSettings } from './cli/args.js'
export type { CliIo, SignalSource } from './cli/io.js'
export { LOG_TIMESTAMP } from './cli/log.js'
export { main } from './cli/main.js'
export { USAGE } from './cli/usage.js'

function isEntryPoint(): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  const io = processIo()
  main(process.argv.slice(2), io).then(
    async (code) => {
      await io.flush(1_000)
      process.exit(code)
    },
    async (error: unknown) => {
      io.stderr(`zerostate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
      await io.flush(1_000)
      process.exit(1)
    },
  )
}
