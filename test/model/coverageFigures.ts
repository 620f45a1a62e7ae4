/**
 * The coverage every model run must reach, computed from the machine definitions and the path
 * generators alone (no network, no actors run): each machine's states and transitions, how many
 * generated paths the pure and the TCP runs replay (the connection machine's TCP paths are replayed
 * over WebSocket too, with the same figures), and which transitions the real-server runs are exempt
 * from (test/model/tcpExemptions.ts). The model tests check their measured coverage against these
 * figures, and `npm run docs` writes these lines into the README, so the README says what the
 * suite enforces.
 */
import type { AnyStateMachine } from 'xstate'
import { connectionMachine } from '../../machines/connection.js'
import { gameLogicMachine } from '../../machines/gameLogic.js'
import { supervisorMachine } from '../../machines/supervisor.js'
import * as connection from './connectionPaths.js'
import { Coverage, type CoverageFigures, coverageLine } from './coverage.js'
import * as gameLogic from './gameLogicPaths.js'
import * as supervisor from './supervisorPaths.js'
import { type Exemption, type ModelMachine, TCP_EXEMPTIONS } from './tcpExemptions.js'

export interface MachineFigures {
  pure: CoverageFigures
  tcp: CoverageFigures
  /** The same paths over WebSocket, for the machines whose real-server run has a WebSocket run too. */
  websocket: CoverageFigures | null
  exemptions: readonly Exemption[]
}

/** The machines in the order the README lists them, each with how to count its paths. */
const MACHINES: readonly { name: ModelMachine; machine: AnyStateMachine; pure: () => number; tcp: () => number; webSocket?: true }[] = [
  {
    name: 'connection',
    machine: connectionMachine,
    pure: () => connection.CONFIGS.reduce((n, config) => n + connection.purePaths(config).length, 0),
    tcp: () => connection.tcpPaths().paths.length,
    // test/model/connection.model.test.ts replays the TCP paths over WebSocket as well.
    webSocket: true,
  },
  { name: 'supervisor', machine: supervisorMachine, pure: () => supervisor.purePaths().length, tcp: () => supervisor.tcpPaths().paths.length },
  { name: 'gameLogic', machine: gameLogicMachine, pure: () => gameLogic.purePaths().length, tcp: () => gameLogic.tcpPaths().paths.length },
]

const computed = new Map<ModelMachine, MachineFigures>()

/** The figures of one machine's pure and TCP runs (computed once per process). */
export function figuresOf(name: ModelMachine): MachineFigures {
  const known = computed.get(name)
  if (known !== undefined) return known
  const entry = MACHINES.find((m) => m.name === name)!
  const { stateIds, transitionKeys } = new Coverage(entry.machine)
  const exemptions: readonly Exemption[] = TCP_EXEMPTIONS[name]
  for (const { transition } of exemptions) {
    if (!transitionKeys.includes(transition)) throw new Error(`test/model/tcpExemptions.ts: ${name} has no transition ${transition}`)
  }
  const states = { covered: stateIds.length, total: stateIds.length }
  const all = transitionKeys.length
  const tcp: CoverageFigures = {
    label: `${name} (tcp)`,
    states,
    transitions: { covered: all - exemptions.length, total: all },
    exempt: exemptions.length,
    paths: entry.tcp(),
  }
  const figures: MachineFigures = {
    pure: { label: `${name} (pure)`, states, transitions: { covered: all, total: all }, exempt: 0, paths: entry.pure() },
    tcp,
    websocket: entry.webSocket ? { ...tcp, label: `${name} (websocket)` } : null,
    exemptions,
  }
  computed.set(name, figures)
  return figures
}

/** Every machine's pure, TCP and WebSocket coverage lines, as the model tests print them. */
export function coverageLines(): string[] {
  return MACHINES.flatMap(({ name }) => {
    const { pure, tcp, websocket } = figuresOf(name)
    return [pure, tcp, ...(websocket === null ? [] : [websocket])].map(coverageLine)
  })
}

/** The TCP exemptions of every machine, one Markdown list item each. */
export function exemptionList(): string[] {
  return MACHINES.flatMap(({ name }) => TCP_EXEMPTIONS[name].map(({ transition, why }: Exemption) => `- \`${transition}\`: ${why}.`))
}
