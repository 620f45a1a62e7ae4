// Regenerates the README parts that come from code: the connection diagram, the close-reason
// table, and the model tests' coverage lines with the transitions exempt over TCP (computed by
// test/model/coverageFigures.ts, which the model tests check their runs against); and the bench
// tables of README.md, docs/rooms.md and docs/cluster.md from bench/published.json.
// test/readme.test.ts and test/benchDocs.test.ts fail until this has been run after a change to any of them.
import { readFileSync, writeFileSync } from 'node:fs'
import { connectionMachine } from '../machines/connection.js'
import { CLOSE_REASONS, SessionClosedError } from '../src/errors.js'
import { toMermaid } from '../src/mermaid.js'
import { coverageLines, exemptionList } from '../test/model/coverageFigures.js'
import { COVERAGE_BLOCK, EXEMPTION_LIST } from '../test/helpers/readmeParts.js'
import { publishedTables, tableBlock } from '../bench/published.js'

const path = new URL('../README.md', import.meta.url)
let readme = readFileSync(path, 'utf8')
readme = readme.replace(/```mermaid\n[\s\S]*?\n```/, `\`\`\`mermaid\n${toMermaid(connectionMachine)}\n\`\`\``)
const table = CLOSE_REASONS.map((reason) => `| \`${reason}\` | ${new SessionClosedError(reason).message} |`).join('\n')
readme = readme.replace(/(\| code \| when \|\n\|---\|---\|\n)(?:\|.*\|\n)+/, `$1${table}\n`)
for (const [pattern, lines] of [
  [COVERAGE_BLOCK, coverageLines()],
  [EXEMPTION_LIST, exemptionList()],
] as const) {
  if (!pattern.test(readme)) throw new Error(`README.md: no match for ${pattern}`)
  readme = readme.replace(pattern, (_, before: string, _old: string, after: string) => `${before}${lines.join('\n')}\n${after}`)
}
writeFileSync(path, readme)

// The bench tables, from the run kept in bench/published.json, into the docs that quote them.
for (const { doc, name, text } of publishedTables()) {
  const file = new URL(`../${doc}`, import.meta.url)
  const pattern = tableBlock(name)
  const content = readFileSync(file, 'utf8')
  if (!pattern.test(content)) throw new Error(`${doc}: no <!-- bench: ${name} --> code block`)
  writeFileSync(file, content.replace(pattern, (_, before: string, _old: string, after: string) => `${before}${text}${after}`))
}
