// Regenerates the README parts that come from code (the connection diagram, the close-reason
// table); test/readme.test.ts fails until this has been run after a change to either.
import { readFileSync, writeFileSync } from 'node:fs'
import { connectionMachine } from '../machines/connection.js'
import { CLOSE_REASONS, SessionClosedError } from '../src/errors.js'
import { toMermaid } from '../src/mermaid.js'

const path = new URL('../README.md', import.meta.url)
let readme = readFileSync(path, 'utf8')
readme = readme.replace(/```mermaid\n[\s\S]*?\n```/, `\`\`\`mermaid\n${toMermaid(connectionMachine)}\n\`\`\``)
const table = CLOSE_REASONS.map((reason) => `| \`${reason}\` | ${new SessionClosedError(reason).message} |`).join('\n')
readme = readme.replace(/(\| code \| when \|\n\|---\|---\|\n)(?:\|.*\|\n)+/, `$1${table}\n`)
writeFileSync(path, readme)
