/**
 * `npm run bench [-- --quick | --smoke] [-- --json] [-- --only=...]`: zerostate and the node:net
 * ceiling, side by side, under the same load generator; then over WebSocket, zerostate beside the
 * ws echo ceiling and Colyseus. See bench/README.md.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { endChild, openFileHardLimit, placeProcesses, REPO_ROOT } from './children.js'
import { benchConfig } from './config.js'
import { type RunResult, type ServerKind, WS_SERVERS, type WsRunResult, type WsServerKind } from './figures.js'
import { Generators } from './generators.js'
import { measureServer, type Prelude, prelude, type ServerProcess, spawnServer } from './measure-server.js'
import { measureWebSocketServer } from './measure-websocket.js'
import { clusterTable, runClusterBench } from './cluster.js'
import { roomsTable, runRoomsBench } from './rooms.js'
import { medians, summaryJson, table, wsMedians, wsSummaryJson, wsTable } from './report.js'

/** One process (server or generator) holds all 50,000 sockets of its side, plus a few of its own. */
const FIFTY_K_FDS = 51_000

interface Args {
  quick: boolean
  smoke: boolean
  json: boolean
  /** One TCP server, the TCP scenarios alone (`tcp`), the WebSocket ones (`websocket`), the rooms' (`rooms`) or the cluster's (`cluster`). */
  only: ServerKind | 'tcp' | 'websocket' | 'rooms' | 'cluster' | null
  runs: number | null
  profile: boolean
}

const USAGE = 'usage: tsx bench/run.ts [--quick | --smoke] [--json] [--only=zerostate|ceiling|tcp|websocket|rooms|cluster] [--runs=N] [--cpu-prof]'

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, smoke: false, json: false, only: null, runs: null, profile: false }
  // `--only websocket` as well as `--only=websocket`.
  const joined = argv.flatMap((arg, index) => (arg === '--only' ? [] : argv[index - 1] === '--only' ? [`--only=${arg}`] : [arg]))
  for (const arg of joined) {
    if (arg === '--quick') args.quick = true
    else if (arg === '--smoke') args.smoke = true
    else if (arg === '--json') args.json = true
    else if (['--only=zerostate', '--only=ceiling', '--only=tcp', '--only=websocket', '--only=rooms', '--only=cluster'].includes(arg)) args.only = arg.slice('--only='.length) as Args['only']
    else if (arg === '--cpu-prof') args.profile = true
    else if (/^--runs=[1-9]$/.test(arg)) args.runs = Number(arg.slice('--runs='.length))
    else {
      process.stderr.write(`unknown argument ${arg}\n${USAGE}\n`)
      process.exit(2)
    }
  }
  if (args.quick && args.smoke) {
    process.stderr.write(`--quick and --smoke are two different runs: pick one\n${USAGE}\n`)
    process.exit(2)
  }
  return args
}

/**
 * The bench owns both cores while it runs; anything else running (a test suite, a build) shows up
 * in the 1-minute load average and makes the figures noisy.
 */
function loadNote(when: string): string {
  const load = os.loadavg()[0]!
  return `load average ${when} the runs: ${load.toFixed(2)}${when === 'before' && load > 0.5 ? ' (other work on the machine: expect noise)' : ''}`
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const started = performance.now()
  const log = (line: string): void => {
    process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`)
  }

  // The TCP section's servers (none with --only=websocket), then the WebSocket section's (only with
  // no --only, or --only=websocket).
  let servers: ServerKind[] = args.only === 'websocket' || args.only === 'rooms' || args.only === 'cluster' ? [] : args.only === 'zerostate' || args.only === 'ceiling' ? [args.only] : ['zerostate', 'ceiling']
  let wsServers: WsServerKind[] = args.only === null || args.only === 'websocket' ? [...WS_SERVERS] : []
  const problems: string[] = []
  if ((servers.includes('zerostate') || wsServers.includes('zerostate')) && !existsSync(path.join(REPO_ROOT, 'src', 'index.ts'))) {
    const text = 'zerostate cannot be measured: src/index.ts (its public API) does not exist yet; measuring the ceilings (and Colyseus) only'
    process.stderr.write(`error: ${text}\n`)
    problems.push(text)
    servers = servers.filter((server) => server !== 'zerostate')
    wsServers = wsServers.filter((server) => server !== 'zerostate')
  }

  const fdLimit = openFileHardLimit()
  const fiftyK = fdLimit >= FIFTY_K_FDS
  const config = benchConfig(args.smoke ? 'smoke' : args.quick ? 'quick' : 'full', fiftyK)
  if (args.runs) config.runs = args.runs
  const placement = placeProcesses()
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const header = [
    `zerostate bench, ${config.mode} run: ${config.runs} run${config.runs === 1 ? '' : 's'} per server, medians; Node ${process.version}, ${cpu}, ${os.platform()}`,
    `scenarios: ${[servers.length > 0 ? `TCP (${servers.join(', ')})` : null, wsServers.length > 0 ? `WebSocket (${wsServers.join(', ')})` : null, args.only === null || args.only === 'rooms' ? 'rooms' : null, args.only === null || args.only === 'cluster' ? 'cluster' : null].filter((part) => part !== null).join(', then ')}`,
    `cores: ${placement.description}`,
    ...(config.mode === 'full' && !fiftyK
      ? [`50,000 idle sessions: skipped, the open-file hard limit is ${fdLimit} (< ${FIFTY_K_FDS}) and one process holds every session`]
      : []),
    ...(config.mode === 'smoke'
      ? [
          'smoke: a check that the harness runs end to end, not a measurement: a few hundred sessions, a few connections per load, ' +
            'windows of a few hundred ms (the heartbeat window is the quick run\'s); no figure below means anything, nor does any goal marked met or MISSED',
        ]
      : []),
    ...(config.mode === 'quick' ? ['quick: shorter windows; heartbeat CPU measured over 5 s and scaled to 10 s, on the first idle round (every session probed: overstates zerostate)'] : []),
    loadNote('before'),
  ]
  for (const line of header) log(line)

  const profileDir = args.profile ? path.join(REPO_ROOT, 'bench', 'results', 'profiles') : null
  if (profileDir) log(`--cpu-prof: server profiles go to ${path.relative(REPO_ROOT, profileDir)}/ (the main thread's is the larger file in each run's folder; read it with tsx bench/profile-top.ts FILE)`)
  const results: RunResult[] = []
  const wsResults: WsRunResult[] = []
  const generators = new Generators(placement.loadCpu)
  // Alternate the order, so drift over the run (heat, page cache) does not favour one server.
  const jobs: { server: ServerKind; run: number }[] = []
  for (let run = 1; run <= config.runs; run++) for (const server of run % 2 === 1 ? servers : [...servers].reverse()) jobs.push({ server, run })
  // A server child takes ~1 s of CPU to start (tsx), and its prelude (listen, a warm-up, a GC)
  // times nothing. So the next run's child starts during this run's heartbeat window, on the
  // generator's core, which is then all but idle, and the storm generator (idle until the storm)
  // runs its prelude; it moves to the server's core when its own run begins.
  const early: { next: { proc: ServerProcess; prepared: Promise<Prelude> } | null } = { next: null }
  try {
    for (const [index, job] of jobs.entries()) {
      const { proc, prepared } = early.next ?? { proc: spawnServer(job.server, job.run, placement.serverCpu, profileDir), prepared: null }
      early.next = null
      const upcoming = jobs[index + 1]
      const quiet = async (): Promise<void> => {
        if (!upcoming || early.next) return
        const started = performance.now()
        const next = spawnServer(upcoming.server, upcoming.run, placement.loadCpu, profileDir)
        const nextPrelude = prelude(next, generators.storm(), config)
        early.next = { proc: next, prepared: nextPrelude }
        await nextPrelude.then(
          () => log(`${upcoming.server} run ${upcoming.run}: started, listening and warmed up meanwhile (${((performance.now() - started) / 1000).toFixed(1)} s)`),
          () => undefined, // reported by that run
        )
      }
      results.push(await measureServer(proc, prepared, config, placement, generators, log, quiet))
    }
    // The WebSocket section: a fresh server child per run, the order rotated each run so that no
    // server always goes first.
    for (let run = 1; run <= config.runs; run++) {
      const shift = (run - 1) % Math.max(1, wsServers.length)
      for (const server of [...wsServers.slice(shift), ...wsServers.slice(0, shift)]) {
        wsResults.push(await measureWebSocketServer(server, run, config.webSocket, placement, generators, log))
      }
    }
  } finally {
    await Promise.all([generators.end(), early.next ? endChild(early.next.proc.child) : undefined])
  }
  // Rooms against the same game on plain handlers: their own server children and players.
  const rooms = args.only === null || args.only === 'rooms' ? await runRoomsBench(config.mode, placement) : null
  // Nodes of a cluster on NATS against the same work on one node (skipped, and said so, without NATS).
  const cluster = args.only === null || args.only === 'cluster' ? await runClusterBench(config.mode, placement, log) : null
  for (const problem of cluster?.problems ?? []) problems.push(problem)
  for (const result of results) for (const problem of result.problems) problems.push(`${result.server} run ${result.run}: ${problem}`)
  for (const result of wsResults) for (const problem of result.problems) problems.push(`websocket ${result.server} run ${result.run}: ${problem}`)

  const m = medians(results)
  const wsM = wsMedians(wsResults)
  mkdirSync(path.join(REPO_ROOT, 'bench', 'results'), { recursive: true })
  // A smoke run (one per `npm test`) overwrites the last one's file instead of adding one more.
  const stamp = config.mode === 'smoke' ? 'latest' : new Date().toISOString().replace(/[:.]/g, '-')
  const file = path.join(REPO_ROOT, 'bench', 'results', `${config.mode}-${stamp}.json`)
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), header, config, results, medians: m, webSocket: { results: wsResults, medians: wsM }, rooms, cluster, problems }, null, 2))

  header.push(loadNote('after'))
  const out: string[] = ['', ...header, '']
  if (servers.length > 0) out.push(table(m, config), '')
  if (wsServers.length > 0) out.push(wsTable(wsM, config.webSocket), '')
  if (rooms !== null) out.push(roomsTable(rooms), '')
  if (cluster !== null) out.push(clusterTable(cluster), '')
  if (problems.length > 0) out.push('problems:', ...problems.map((problem) => `  - ${problem}`), '')
  out.push(`took ${((performance.now() - started) / 1000).toFixed(0)} s; every run's figures: ${path.relative(REPO_ROOT, file)}`)
  process.stdout.write(`${out.join('\n')}\n`)
  const zerostateMeasured = servers.includes('zerostate') && servers.includes('ceiling')
  if (args.json) {
    // The WebSocket line first: issue 3's line stays the last one.
    if (wsServers.length > 0) process.stdout.write(`${wsSummaryJson(wsM)}\n`)
    if (zerostateMeasured) process.stdout.write(`${summaryJson(m)}\n`)
    else if (servers.length > 0) process.stderr.write('--json: no TCP JSON line, since both TCP servers are needed for it\n')
  }
  return problems.length > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
