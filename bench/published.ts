/**
 * The figures the docs quote: one full `npm run bench` run, kept as bench/published.json, rendered
 * by the bench's own tables. `npm run docs` writes each table into the doc that quotes it;
 * test/benchDocs.test.ts fails when a doc shows anything else. To publish a new run:
 * `cp bench/results/full-<stamp>.json bench/published.json && npm run docs`.
 */
import { readFileSync } from 'node:fs'
import { type ClusterReport, clusterTable } from './cluster.js'
import type { BenchConfig } from './config.js'
import type { RunResult, WsRunResult } from './figures.js'
import { medians, table, wsMedians, wsTable } from './report.js'
import { type RoomsReport, roomsTable } from './rooms.js'

/** What bench/run.ts writes into bench/results/ (the parts the tables need). */
interface ResultsFile {
  date: string
  header: string[]
  config: BenchConfig
  results: RunResult[]
  webSocket: { results: WsRunResult[] }
  rooms: RoomsReport | null
  cluster: ClusterReport | null
}

/** Where a table goes: the doc, and the name in the `<!-- bench: name -->` line above its code block. */
export interface PublishedTable {
  doc: 'README.md' | 'docs/rooms.md' | 'docs/cluster.md'
  name: 'tcp' | 'websocket' | 'rooms' | 'cluster'
  text: string
}

const PUBLISHED = new URL('./published.json', import.meta.url)

/** The code block under a table's marker line: (marker and fence, the table, closing fence). */
export function tableBlock(name: PublishedTable['name']): RegExp {
  return new RegExp(`(<!-- bench: ${name} -->\\n\`\`\`\\n)([\\s\\S]*?)(\`\`\`\\n)`)
}

/** Each table of the published run, with the line that says which run it is. */
export function publishedTables(): PublishedTable[] {
  const run = JSON.parse(readFileSync(PUBLISHED, 'utf8')) as ResultsFile
  if (run.config.mode !== 'full') throw new Error(`bench/published.json: a ${run.config.mode} run; the docs quote a full one`)
  if (run.rooms === null || run.cluster === null) throw new Error(`bench/published.json: not every section ran (run npm run bench without --only)`)
  // "2026-12-03T19:20:31.123Z" → "2026-12-03 19:20 UTC"
  const caption = `${run.date.slice(0, 10)} ${run.date.slice(11, 16)} UTC, ${run.header[0]}`
  const tables: PublishedTable[] = [
    { doc: 'README.md', name: 'tcp', text: table(medians(run.results), run.config) },
    { doc: 'README.md', name: 'websocket', text: wsTable(wsMedians(run.webSocket.results), run.config.webSocket) },
    { doc: 'docs/rooms.md', name: 'rooms', text: roomsTable(run.rooms) },
    { doc: 'docs/cluster.md', name: 'cluster', text: clusterTable(run.cluster) },
  ]
  return tables.map((entry) => ({ ...entry, text: `${caption}\n\n${entry.text.trimEnd()}\n` }))
}
