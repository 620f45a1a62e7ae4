/** The rooms bench at its smoke size: the harness runs, both modes deliver ticks, every figure is a number. */
import { execFileSync } from 'node:child_process'
import { expect, it } from 'vitest'

it('npm run bench:rooms -- --smoke measures rooms and plain handlers, both delivering ticks', () => {
  const output = execFileSync(process.execPath, ['--import', 'tsx', 'bench/rooms.ts', '--smoke', '--json'], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 60_000,
  })
  const report = JSON.parse(output.trim().split('\n').at(-1)!) as { results: Record<string, Record<string, Record<string, number>>> }
  expect(Object.keys(report.results)).toHaveLength(2)
  for (const modes of Object.values(report.results)) {
    expect(Object.keys(modes)).toEqual(['rooms', 'plain'])
    for (const figures of Object.values(modes)) {
      expect(figures.received).toBeGreaterThan(0)
      for (const value of Object.values(figures)) expect(Number.isFinite(value)).toBe(true)
    }
  }
})
