/** The README's table of error classes and what `zerostate` exports agree, both ways. */
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import * as zerostate from '../src/index.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const start = readme.indexOf('\n## Errors\n')
const end = readme.indexOf('\n## ', start + 1)
const section = readme.slice(start, end < 0 ? undefined : end)
const rows = [...section.matchAll(/^\| `(\w+)` \| ([^|]+) \|/gm)].map(([, name, codes]) => ({ name: name!, codes: [...codes!.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!) }))
const exported = Object.entries(zerostate).filter(([, value]) => typeof value === 'function' && (value === zerostate.ZerostateError || value.prototype instanceof zerostate.ZerostateError))

it('names only error classes that zerostate exports', () => {
  expect(rows.length).toBeGreaterThan(0)
  for (const { name } of rows) expect(exported.map(([key]) => key), `${name} is exported`).toContain(name)
})

it('names every error class zerostate exports', () => {
  expect(rows.map((row) => row.name).sort()).toEqual(exported.map(([key]) => key).sort())
})

it('gives every usage and room code its class, and no code that does not exist', () => {
  const listed = rows.flatMap((row) => row.codes)
  for (const code of zerostate.USAGE_ERROR_CODES) expect(listed).toContain(code)
  for (const code of zerostate.ROOM_ERROR_CODES) expect(listed).toContain(code)
  const known: readonly string[] = [...zerostate.USAGE_ERROR_CODES, ...zerostate.ROOM_ERROR_CODES, ...zerostate.CLOSE_REASONS]
  for (const code of listed) expect(known).toContain(code)
})
