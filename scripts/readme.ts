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

/** `content` with the middle group of `pattern` (before, old, after) replaced by `text`. */
function fill(doc: string, content: string, pattern: RegExp, text: string): string {
  if (!pattern.test(content)) throw new Error(`${doc}: no match for ${pattern}`)
  return content.replace(pattern, (_, before: string, _old: string, after: string) => `${before}${text}${after}`)
}

// Each doc is read once, changed in memory and written once at the end.
const docs = new Map<string, string>()
const read = (doc: string) => docs.get(doc) ?? readFileSync(new URL(`../${doc}`, import.meta.url), 'utf8')

let readme = read('README.md')
readme = readme.replace(/```mermaid\n[\s\S]*?\n```/, `\`\`\`mermaid\n${toMermaid(connectionMachine)}\n\`\`\``)
const table = CLOSE_REASONS.map((reason) => `| \`${reason}\` | ${new SessionClosedError(reason).message} |`).join('\n')
readme = readme.replace(/(\| code \| when \|\n\|---\|---\|\n)(?:\|.*\|\n)+/, `$1${table}\n`)
readme = fill('README.md', readme, COVERAGE_BLOCK, `${coverageLines().join('\n')}\n`)
readme = fill('README.md', readme, EXEMPTION_LIST, `${exemptionList().join('\n')}\n`)
docs.set('README.md', readme)

// The bench tables, from the run kept in bench/published.json, into the docs that quote them.
for (const { doc, name, text } of publishedTables()) docs.set(doc, fill(doc, read(doc), tableBlock(name), text))
for (const [doc, content] of docs) writeFileSync(new URL(`../${doc}`, import.meta.url), content)
