/**
 * The connection statechart's model: its events with their parameters, the three configurations
 * that together reach every state, and the generated paths each run replays: every path of the
 * pure runs, and the edge tour the TCP runs stage on a real server (without the edges no server
 * can produce, with why). Pure computation, no sockets: the docs script counts these paths too.
 */
import type { AnyMachineSnapshot } from 'xstate'
import { type ConnectionInput, connectionMachine } from '../../machines/connection.js'
import { coverEdges, describeEvent, edgeTour, type ModelEvent, type ModelOptions, type ModelPath, modelEvents, simplePaths, unique, walks } from './paths.js'

export type Machine = typeof connectionMachine
export type Path = ModelPath<Machine>

export const credential = { id: 1, data: Buffer.from('credential') }

/** Parameters of the events: every protocol error, both ways a peer goes, both verify verdicts. */
const EVENTS = modelEvents(connectionMachine, {
  'frame.received': [{ frame: credential }],
  'frame.invalid': [{ reason: 'frame-too-small' }, { reason: 'frame-too-large' }, { reason: 'bad-checksum' }],
  'socket.closed': [{ reason: 'client-closed' }, { reason: 'reset' }],
  'xstate.done.actor': [{ output: true }, { output: false }],
})

export interface Config {
  name: string
  input: ConnectionInput
  /** Walks of up to this many events join the pure runs' paths. */
  walkDepth: number
}

/** Together these reach every state and transition: zero's mode, a plain handshake, a verified one, resume on. */
export const CONFIGS: readonly Config[] = [
  { name: 'handshake off', input: { sessionId: 'model', handshake: false }, walkDepth: 10 },
  { name: 'handshake', input: { sessionId: 'model', handshake: true, verify: false }, walkDepth: 10 },
  { name: 'handshake + verify', input: { sessionId: 'model', handshake: true, verify: true }, walkDepth: 10 },
  // Resume's twelve more events make walks of 10 some 150,000 paths: 5 keeps the run to seconds.
  { name: 'handshake + resume', input: { sessionId: 'model', handshake: true, verify: false, resume: true }, walkDepth: 5 },
]

/** Events only a server with `resume` produces: its control frames, and its grace. */
const RESUME_EVENTS: ReadonlySet<string> = new Set(['peer.goodbye', 'session.resumed', 'resume.expired', 'replay.unavailable', 'resume.refused', 'resume.handedOver'])

export const modelOf = (input: ConnectionInput): ModelOptions<Machine> => ({
  input,
  events: EVENTS,
  allow: input.resume === true ? undefined : (_, event) => !RESUME_EVENTS.has(event.type),
})

export const isVerifying = (snapshot: AnyMachineSnapshot): boolean => snapshot.matches({ handshake: 'verifying' })

/** The pure runs' paths of one configuration: edge tour, simple paths and walks, each once. */
export function purePaths(config: Config): Path[] {
  const model = modelOf(config.input)
  return unique([...edgeTour(connectionMachine, model), ...simplePaths(connectionMachine, model), ...walks(connectionMachine, model, config.walkDepth)])
}

/**
 * Edges the server cannot produce by design, with why. While `verify` runs the session stops
 * reading its socket (src/serverSession.ts, PAUSED_VERIFY), so frames sent after the credential are
 * not decoded until verify settles and the rate check never sees them. (A FIN and a RST are still
 * reported; a bad frame in the same write as the credential is decoded in the same read, so
 * `frame.invalid` while verifying is produced that way.) The transition itself is taken from the
 * handshake's other substate, so no transition is exempt for it.
 */
export function unrealizable(from: AnyMachineSnapshot, event: ModelEvent<Machine>): string | undefined {
  if (isVerifying(from) && event.type === 'rate.exceeded') return 'frames are not read while verify runs'
  return undefined
}

function realizable(path: Path): boolean {
  return path.steps.every((step, i) => i === 0 || unrealizable(path.steps[i - 1]!.state, step.event) === undefined)
}

export interface TcpPaths {
  paths: { config: Config; path: Path }[]
  /** Edges of the edge tour left out as unrealizable, as `state --event: why`. */
  skipped: string[]
}

/** The edge tour of every configuration, realizable paths only, cut to the fewest that still take every edge. */
export function tcpPaths(): TcpPaths {
  const skipped: string[] = []
  const all = CONFIGS.flatMap((config) => edgeTour(connectionMachine, modelOf(config.input)).map((path) => ({ config, path })))
  for (const { path } of all) {
    for (let i = 1; i < path.steps.length; i++) {
      const why = unrealizable(path.steps[i - 1]!.state, path.steps[i]!.event)
      if (why !== undefined) skipped.push(`${JSON.stringify(path.steps[i - 1]!.state.value)} --${describeEvent(path.steps[i]!.event)}: ${why}`)
    }
  }
  // One path per edge is plenty over TCP: keep the fewest paths that still take every edge.
  const view = (snapshot: AnyMachineSnapshot) => [snapshot.value, (snapshot.context as { reason: unknown }).reason]
  const realizablePaths = all.filter(({ path }) => realizable(path))
  const kept = new Set(coverEdges(realizablePaths.map(({ path }) => path), view))
  return { paths: realizablePaths.filter(({ path }) => kept.has(path)), skipped: [...new Set(skipped)] }
}
