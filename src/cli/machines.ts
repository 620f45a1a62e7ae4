import { clusterNodeMachine } from '../../machines/clusterNode.js'
import { connectionMachine } from '../../machines/connection.js'
import { gameLogicMachine } from '../../machines/gameLogic.js'
import { seatMachine } from '../../machines/seat.js'
import { supervisorMachine } from '../../machines/supervisor.js'
import { toMermaid } from '../mermaid.js'

const MACHINES = { connection: connectionMachine, supervisor: supervisorMachine, gameLogic: gameLogicMachine, seat: seatMachine, clusterNode: clusterNodeMachine }

/** `zerostate machines`: zerostate's own statecharts as JSON for the Stately editor, or as Mermaid. */
export function formatMachines(format: 'json' | 'mermaid'): string {
  if (format === 'mermaid') {
    return Object.entries(MACHINES)
      .map(([name, machine]) => `%% ${name}\n${toMermaid(machine)}`)
      .join('\n\n')
  }
  return JSON.stringify(Object.fromEntries(Object.entries(MACHINES).map(([name, machine]) => [name, machine.toJSON()])), null, 2)
}
