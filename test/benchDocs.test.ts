import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { publishedTables, tableBlock } from '../bench/published.js'

describe('bench figures in the docs', () => {
  for (const { doc, name, text } of publishedTables()) {
    it(`${doc} shows the ${name} table of the run in bench/published.json, as the bench renders it`, () => {
      const block = tableBlock(name).exec(readFileSync(new URL(`../${doc}`, import.meta.url), 'utf8'))?.[2]
      expect(block, `${doc}'s <!-- bench: ${name} --> block (regenerate with npm run docs)`).toBe(text)
    })
  }
})
