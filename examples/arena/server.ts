// The arena demo: `npm run demo` (or `npm run demo -- --bots 3`), then open the URL it prints.
// Flags (demoArgs.ts): --port (the page and its WebSocket, default 18800), --tcp-port (bots,
// default port + 1), --host, --bots N, --inspect[=port] (a Stately inspector relay, default
// 18802), --inspect-file out.jsonl, --resume-grace ms (how long a lost player keeps its seat,
// default 15000; 0: off).
import type { InspectionEvent, Observer } from 'xstate'
import { type FileInspector, openFileInspector, type RelayInspector, startRelayInspector } from '../../src/index.js'
import { startArena } from './arenaServer.js'
import { type Bot, startBot } from './bot.js'
import { buildArenaPage } from './buildPage.js'
import { type DemoArgs, demoArgs } from './demoArgs.js'

let settings: DemoArgs
try {
  settings = demoArgs(process.argv.slice(2))
} catch (error) {
  console.error(`arena: ${(error as Error).message}`)
  process.exit(2)
}

const observers: Observer<InspectionEvent>[] = []
let relay: RelayInspector | null = null
let file: FileInspector | null = null
if (settings.inspect !== null) {
  relay = await startRelayInspector({ host: settings.host, port: settings.inspect }, await import('@statelyai/inspect'))
  observers.push(relay.inspect)
}
if (settings.inspectFile !== null) {
  file = await openFileInspector(settings.inspectFile)
  observers.push(file.inspect)
}

const arena = await startArena({
  host: settings.host,
  tcpPort: settings.tcpPort,
  webPort: settings.port,
  pageDir: await buildArenaPage(),
  resume: settings.resumeGrace === 0 ? undefined : { grace: settings.resumeGrace },
  inspect: observers.length === 0 ? undefined : { next: (event) => observers.forEach((observer) => observer.next?.(event)) },
})
console.log(`arena: open ${arena.pageUrl} to play (bots connect over TCP to ${arena.address.host}:${arena.address.port})`)
if (relay?.relay) console.log(`arena: watch every actor in the Stately inspector at ${relay.relay.pageUrl}`)
if (file !== null) console.log(`arena: inspection written to ${settings.inspectFile} (read it with: npm start -- timeline ${settings.inspectFile})`)

const bots: Bot[] = []
for (let i = 1; i <= settings.bots; i++) bots.push(await startBot({ host: arena.address.host, port: arena.address.port, name: `bot ${i}` }))
if (settings.bots > 0) console.log(`arena: ${settings.bots} bot(s) playing`)

let stopping = false
const stop = async (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`arena: ${signal}, stopping`)
  await Promise.all(bots.map((bot) => bot.close()))
  await arena.stop()
  await Promise.all([relay?.stop(), file?.close()])
  console.log('arena: stopped')
  process.exit(0)
}
process.once('SIGTERM', () => void stop('SIGTERM'))
process.once('SIGINT', () => void stop('SIGINT'))
