/**
 * Graceful drain: many clients, each with many messages in flight, when the server is told to
 * stop: `server.stop()` in-process, or SIGTERM to `src/cli.ts` in a child process.
 *
 *   npm run drain                          # 100 clients x 100 messages, SIGTERM to the CLI
 *   npm run drain -- --server in-process --json
 *
 * Each client first completes one round trip (so the server has surely accepted it and it is
 * active), then sends `messages` frames without waiting; once they are on the wire (handed to the
 * kernel) the stop begins. Every one of those messages reached the server before the stop, so
 * every one must be handled and answered, in order, before the client sees the server close its
 * socket; in-process, onDisconnect must say `server-stopping` for every session; the CLI must log
 * the same and exit 0.
 */
import { type Client, connect, createServer, type Server } from '../src/index.js'
import { type CliServer, startCli } from './child.js'
import { SessionLedger } from './ledger.js'
import { intFlag, isMain, parseFlags, report, serverFlag } from './util.js'
import { nextIO, orAfter } from '../test/helpers/wait.js'

export interface DrainOptions {
  /** @default 100 */
  clients?: number
  /** Messages each client has in flight when the stop begins. @default 100 */
  messages?: number
  /** 'cli': SIGTERM to `src/cli.ts` in a child process (default); 'in-process': `server.stop()`. */
  server?: 'cli' | 'in-process'
  /** Cap on the stop, from its start to every socket closed (and the CLI's exit). @default 15_000 */
  timeoutMs?: number
}

export interface DrainSummary {
  ok: boolean
  failures: string[]
  server: 'cli' | 'in-process'
  clients: number
  messagesPerClient: number
  /** Answers received before the close, over all clients (the warm-up round trip excluded). */
  answered: number
  /** Messages the server's handler ran for (in-process only; the warm-up excluded). */
  handled: number | null
  clientsFullyAnswered: number
  clientCloseReasons: Record<string, number>
  serverReasons: Record<string, number>
  exitCode: number | string | null
  stopMs: number
}

interface Tracked {
  client: Client
  answers: number[]
  outOfOrder: boolean
}

export async function runDrain(options: DrainOptions = {}): Promise<DrainSummary> {
  const clientCount = options.clients ?? 100
  const messages = options.messages ?? 100
  const mode = options.server ?? 'cli'
  const timeoutMs = options.timeoutMs ?? 15_000
  const failures: string[] = []

  let server: Server | null = null
  let cli: CliServer | null = null
  const ledger = new SessionLedger()
  let handled = 0
  let port: number
  if (mode === 'cli') {
    cli = await startCli(['--port', '0'])
    port = cli.port
  } else {
    server = createServer()
    server.onConnect(ledger.connected)
    server.onDisconnect(ledger.disconnected)
    server.onMessage((session, message) => {
      if (message.id !== 1) handled++
      session.send(message)
    })
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port
  }

  const tracked: Tracked[] = []
  try {
    // Connect and complete one round trip each, a few at a time.
    for (let i = 0; i < clientCount; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, clientCount - i) }, async () => {
          const client = await connect({ host: '127.0.0.1', port, heartbeatInterval: 0 })
          client.send({ id: 1, data: Buffer.from('hello') })
          const echo = await orAfter(client.receive(), 5_000, null)
          if (echo === null) throw new Error('warm-up round trip did not complete')
          const entry: Tracked = { client, answers: [], outOfOrder: false }
          client.onMessage((message) => {
            const seq = Buffer.from(message.data).readUInt32LE(0)
            if (seq !== entry.answers.length) entry.outOfOrder = true
            entry.answers.push(seq)
          })
          return entry
        }),
      )
      tracked.push(...batch)
    }

    for (const entry of tracked) {
      for (let seq = 0; seq < messages; seq++) {
        const data = Buffer.alloc(8)
        data.writeUInt32LE(seq, 0)
        entry.client.send({ id: 2, data })
      }
    }
    // The client corks until the end of the tick; one more turn puts every frame in the kernel.
    await nextIO()
    await nextIO()

    const stopStarted = performance.now()
    let stopped: Promise<unknown>
    if (cli !== null) {
      cli.child.kill('SIGTERM')
      stopped = cli.exited
    } else {
      stopped = server!.stop()
    }
    const allClosed = Promise.all(tracked.map((entry) => entry.client.closed))
    const finished = await orAfter(Promise.all([stopped, allClosed]), timeoutMs, null)
    const stopMs = Math.round(performance.now() - stopStarted)
    if (finished === null) failures.push(`the stop did not finish within ${timeoutMs} ms`)

    const clientCloseReasons: Record<string, number> = {}
    let answered = 0
    let fully = 0
    for (const entry of tracked) {
      const reason = entry.client.closeReason ?? 'open'
      clientCloseReasons[reason] = (clientCloseReasons[reason] ?? 0) + 1
      answered += entry.answers.length
      if (entry.answers.length === messages && !entry.outOfOrder) fully++
    }
    const serverReasons: Record<string, number> = {}
    let exitCode: number | string | null = null
    if (cli !== null) {
      exitCode = await orAfter(cli.exited, 1_000, null)
      for (const line of cli.lines) {
        if (!line.startsWith('disconnect ')) continue
        const reason = line.slice(line.lastIndexOf(' ') + 1)
        serverReasons[reason] = (serverReasons[reason] ?? 0) + 1
      }
      if (exitCode !== 0) failures.push(`the CLI exited with ${exitCode ?? 'nothing (still running)'}, not 0`)
    } else {
      Object.assign(serverReasons, ledger.reasons)
      failures.push(...ledger.pairingProblems())
      if (server!.connectionCount !== 0) failures.push(`connectionCount ${server!.connectionCount} after stop()`)
      if (handled !== clientCount * messages) failures.push(`the handler ran for ${handled} of ${clientCount * messages} messages`)
    }
    if (fully !== clientCount) {
      const short = tracked.filter((entry) => entry.answers.length !== messages || entry.outOfOrder)
      failures.push(
        `${short.length} client(s) did not get all ${messages} answers in order before the close ` +
          `(e.g. ${short.slice(0, 3).map((e) => `${e.answers.length}${e.outOfOrder ? ' out of order' : ''}`).join(', ')})`,
      )
    }
    if ((clientCloseReasons['server-closed'] ?? 0) !== clientCount) failures.push(`client close reasons: ${JSON.stringify(clientCloseReasons)}`)
    if ((serverReasons['server-stopping'] ?? 0) !== clientCount) failures.push(`server close reasons: ${JSON.stringify(serverReasons)}`)

    return {
      ok: failures.length === 0,
      failures,
      server: mode,
      clients: clientCount,
      messagesPerClient: messages,
      answered,
      handled: cli === null ? handled : null,
      clientsFullyAnswered: fully,
      clientCloseReasons,
      serverReasons,
      exitCode,
      stopMs,
    }
  } finally {
    for (const entry of tracked) entry.client.reset()
    if (server !== null) await orAfter(server.stop(), 10_000, null)
    cli?.kill()
  }
}

export function formatDrain(s: DrainSummary): string {
  return [
    `drain ${s.ok ? 'PASSED' : 'FAILED'} (server: ${s.server}); stop took ${s.stopMs} ms`,
    `  in flight          ${s.clients} clients x ${s.messagesPerClient} messages`,
    `  answered           ${s.answered} before the close; ${s.clientsFullyAnswered} clients got every answer in order` +
      (s.handled === null ? '' : `; handler ran ${s.handled} times`),
    `  clients saw        ${JSON.stringify(s.clientCloseReasons)}`,
    `  server said        ${JSON.stringify(s.serverReasons)}` + (s.exitCode === null ? '' : `; exit code ${s.exitCode}`),
    ...s.failures.map((f) => `  FAIL: ${f}`),
    '',
  ].join('\n')
}

if (isMain(import.meta.url)) {
  const flags = parseFlags(process.argv.slice(2))
  const json = flags.has('json')
  const mode = serverFlag(flags, 'cli')
  const summary = await runDrain({
    clients: intFlag(flags, 'clients', 100),
    messages: intFlag(flags, 'messages', 100),
    server: mode,
  })
  report(summary, json, () => formatDrain(summary))
}
