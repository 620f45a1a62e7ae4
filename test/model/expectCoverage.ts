/**
 * The model tests' coverage check: what a run's actors really took (from the inspection stream)
 * against what test/model/coverageFigures.ts computes they must take, which is what the README
 * shows. Prints the run's coverage line, which is then the README's line to the character.
 */
import { expect } from 'vitest'
import { type Coverage, type CoverageFigures, coverageLine } from './coverage.js'

/**
 * Every state was entered and every transition but the exempt ones taken (an exempt one taken
 * fails too: it is reachable after all), over as many paths as were computed.
 */
export function expectCoverage(coverage: Coverage, expected: CoverageFigures, exempt: readonly string[], pathsRun: number, note = ''): void {
  const line = coverageLine(coverage.figures(expected.label, pathsRun, exempt.length))
  console.log(`${line}${note === '' ? '' : `\n  ${note}`}`)
  const { states, transitions } = coverage.report()
  const why = `${line}\n  ${coverage.missing()}`
  expect(states.missing, why).toEqual([])
  expect([...transitions.missing].sort(), why).toEqual([...exempt].sort())
  expect(line, 'the run measured what test/model/coverageFigures.ts (and so the README) says').toBe(coverageLine(expected))
}
