import { OptionError } from '../errors.js'
import { type CliCommand, parseCliArgs } from './args.js'
import { type CliIo, processIo } from './io.js'
import { formatMachines } from './machines.js'
import { serve } from './serve.js'
import { timeline } from './timeline.js'
import { USAGE } from './usage.js'

/** Runs the command line and resolves with the process's exit code; only the entry point exits. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let command: CliCommand
  try {
    command = parseCliArgs(argv)
  } catch (error) {
    if (!(error instanceof OptionError)) throw error
    io.stderr(`zerostate: ${error.message} (see zerostate --help)\n`)
    return 2
  }
  switch (command.command) {
    case 'help':
      io.stdout(USAGE)
      return 0
    case 'serve':
      return serve(command, io)
    case 'machines':
      io.stdout(`${formatMachines(command.format)}\n`)
      return 0
    case 'timeline':
      return timeline(command.files, io)
  }
}
