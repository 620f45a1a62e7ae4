// The arena demo: `npm run demo` (or `npm run demo -- --bots 3`), then open the URL it prints.
// Flags: --port (the page and its WebSocket, default 18800), --tcp-port (bots, default port + 1),
// --host, --bots N, --inspect[=port] (a Stately inspector relay, default 18802), --inspect-file out.jsonl.
import { parseArgs } from 'node:util'
import type { InspectionEvent, Observer } from 'xstate'
import { type FileInspector, openFileInspector, type RelayInspector, startRelayInspector } from '../../src/index.js'
import { startArena } from './arenaServer.js'
import { type Bot, startBot } from './bot.js'
import { buildArenaPage } from './buildPage.js'

/** Where `--inspect` with no port starts the inspector relay: beside the demo's ports. */
const INSPECT_PORT = 18802
// parseArgs wants a value for a string option: a bare --inspect means the default port.
const args = process.argv.slice(2).map((arg, i, all) => (arg === '--inspect' && (all[i + 1] ?? '--').startsWith('--') ? `--inspect=${INSPECT_PORT}` : arg))
const { values } = parseArgs({
  args,
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '18800' },
    'tcp-port': { type: 'string' },
    bots: { type: 'string', default: '0' },
    inspect: { type: 'string' },
    'inspect-file': { type: 'string' },
  },
})
const port = integer('--port', values.port)
const tcpPort = values['tcp-port'] === undefined ? (port === 0 ? 0 : port + 1) : integer('--tcp-port', values['tcp-port'])
const bots = integer('--bots', values.bots)

const observers: Observer<InspectionEvent>[] = []
let relay: RelayInspector | null = null
let file: FileInspector | null = null
if (values.inspect !== undefined) {
  relay = await startRelayInspector({ host: values.host, port: integer('--inspect', values.inspect) }, await import('@statelyai/inspect'))
  observers.push(relay.inspect)
}
if (values['inspect-file'] !== undefined) {
  file = await openFileInspector(values['inspect-file'])
  observers.push(file.inspect)
}

const arena = await startArena({
  host: values.host,
  tcpPort,
  webPort: port,
  pageDir: await buildArenaPage(),
  inspect: observers.length === 0 ? undefined : { next: (event) => observers.forEach((observer) => observer.next?.(event)) },
})
console.log(`arena: open ${arena.pageUrl} to play (bots connect over TCP to ${arena.address.host}:${arena.address.port})`)
if (relay?.relay) console.log(`arena: watch every actor in the Stately inspector at ${relay.relay.pageUrl}`)
if (file !== null) console.log(`arena: inspection written to ${values['inspect-file']} (read it with: npm start -- timeline ${values['inspect-file']})`)

const players: Bot[] = []
for (let i = 1; i <= bots; i++) players.push(await startBot({ host: arena.address.host, port: arena.address.port, name: `bot ${i}` }))
if (bots > 0) console.log(`arena: ${bots} bot(s) playing`)

let stopping = false
const stop = async (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`arena: ${signal}, stopping`)
  await Promise.all(players.map((bot) => bot.close()))
  await arena.stop()
  await Promise.all([relay?.stop(), file?.close()])
  console.log('arena: stopped')
  process.exit(0)
}
process.once('SIGTERM', () => void stop('SIGTERM'))
process.once('SIGINT', () => void stop('SIGINT'))

function integer(flag: string, text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    console.error(`arena: ${flag} wants an integer from 0 to 65535, got ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return value
}
