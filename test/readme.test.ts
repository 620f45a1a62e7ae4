import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { connectionMachine } from '../machines/connection.js'
import { CLOSE_REASONS } from '../src/errors.js'
import { toMermaid } from '../src/mermaid.js'
import { COVERAGE_BLOCK, EXEMPTION_LIST } from './helpers/readmeParts.js'
import { coverageLines, exemptionList } from './model/coverageFigures.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

function section(heading: string): string {
  const start = readme.indexOf(`## ${heading}`)
  expect(start, `README has a "${heading}" section`).toBeGreaterThanOrEqual(0)
  const end = readme.indexOf('\n## ', start + 1)
  return readme.slice(start, end < 0 ? undefined : end)
}

describe('README', () => {
  it('shows the connection machine as it is defined', () => {
    const diagram = /```mermaid\n([\s\S]*?)\n```/.exec(section('The connection statechart'))?.[1]
    expect(diagram).toBe(toMermaid(connectionMachine))
  })

  it('lists every close reason, and no other', () => {
    const codes = [...section('Close reasons').matchAll(/^\| `([a-z-]+)` \|/gm)].map((match) => match[1])
    expect(codes).toEqual([...CLOSE_REASONS])
  })

  it('shows the coverage lines the model tests print, computed from the machines and path generators', () => {
    const block = COVERAGE_BLOCK.exec(section('Tests generated from the statecharts'))?.[2]
    expect(block, 'the coverage block (regenerate with npm run docs)').toBe(`${coverageLines().join('\n')}\n`)
  })

  it('lists exactly the transitions the TCP model runs are exempt from, with why', () => {
    const list = EXEMPTION_LIST.exec(section('Tests generated from the statecharts'))?.[2]
    expect(list, 'the exemption list (regenerate with npm run docs)').toBe(`${exemptionList().join('\n')}\n`)
  })

  it('gives the two set-up commands', () => {
    expect(readme).toContain('npm install && npm start')
    expect(readme).toContain('npm test')
  })
})

describe('package', () => {
  it('is importable by its name, with the API the README shows', () => {
    const output = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "import('zerostate').then((m) => console.log(typeof m.createServer, typeof m.connect))"],
      { cwd: new URL('..', import.meta.url), encoding: 'utf8' },
    )
    expect(output.trim()).toBe('function function')
  })
})
