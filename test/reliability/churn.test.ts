/**
 * Churn: connect / echo / close cycles, half ending in an RST and some half-open (closed by the
 * heartbeat timeout through an injected SimulatedClock). In-process for 1,000 cycles (everything
 * but memory, since vitest runs without --expose-gc), and `stress/soak.ts --cycles 2000` in a
 * child started with --expose-gc for memory per cycle.
 */
import { spawn } from 'node:child_process'
import { expect, it } from 'vitest'
import { REPO_ROOT } from '../../stress/child.js'
import { type ChurnSummary, formatChurn, RSS_NOISE_FLOOR, runChurn } from '../../stress/soak.js'

it('1,000 cycles of connect/echo/close (half RST, some half-open): registry empty, pairs complete, no actor, socket or timer left', async () => {
  const summary = await runChurn({ cycles: 1_000, warmup: 0, batch: 250, halfOpenEvery: 20, gc: null, timeLimitMs: 60_000 })
  expect(summary.failures, formatChurn(summary)).toEqual([])
  expect(summary.kinds).toEqual({ fin: 450, reset: 500, 'half-open': 50, resume: 0 })
  expect(summary.reasons).toEqual({ 'client-closed': 450, reset: 500, 'heartbeat-timeout': 50 })
  expect(summary.connects).toBe(1_000)
  expect(summary.disconnects).toBe(1_000)
  expect(summary.connectionCountAfter).toBe(0)
  expect(summary.actors).toEqual({ created: 1_000, alive: 0 })
  // Sockets exactly as before; timers within 2 (vitest's own worker timers come and go).
  expect(summary.resources.delta.TCPSocketWrap ?? 0).toBe(0)
  expect(Math.abs(summary.resources.delta.Timeout ?? 0)).toBeLessThanOrEqual(2)
}, 90_000)

it('leaves less than 200 bytes per cycle behind over 2,000 measured cycles (child process with --expose-gc)', async () => {
  // At 2,000 cycles RSS noise (2-4 MB, seen failing CI at +2.0 MiB with a flat heap) is larger
  // than the whole budget (400 KB), so RSS gets an 8 MiB floor here: it still catches a leak of
  // 4 KB a cycle. `npm run soak` holds RSS to the 2 MiB floor over 10,000 cycles.
  const summary = await runSoakChild(['--cycles', '2000', '--json', '--rss-noise-floor-mib', '8'], 120_000)
  expect(summary.failures, formatChurn(summary)).toEqual([])
  expect(summary.memory.gc).toBe(true)
  const [point] = summary.memory.points
  expect(point?.cycles).toBe(2_000)
  // Heap after GC is exact to a few KB: the per-cycle bound holds for it as stated, end to end
  // and as the slope over the four batches.
  expect(point!.heapPerCycle).toBeLessThan(200)
  expect(point!.heapSlope).toBeLessThan(200)
  // RSS after GC moves by 2-4 MB between idle moments (allocator and V8 page retention), more than
  // 200 B x 2,000 cycles: it fails only if the growth is beyond the 8 MiB floor and the slope is
  // above 200 B/cycle too (see RSS_NOISE_FLOOR in stress/soak.ts).
  const rssGrowth = point!.rssBytes - summary.memory.base!.rssBytes
  expect(rssGrowth < 4 * RSS_NOISE_FLOOR || point!.rssSlope < 200, `RSS +${rssGrowth} B, slope ${point!.rssSlope} B/cycle`).toBe(true)
  expect(summary.sessions!.registered - summary.sessions!.collected).toBeLessThanOrEqual(8)
}, 150_000)

it('10,000 sessions that drop and resume leave nothing behind: heap per cycle flat, every session collected (child process with --expose-gc)', async () => {
  const summary = await runSoakChild(['--resume', '--cycles', '10000', '--warmup', '2000', '--json', '--rss-noise-floor-mib', '8'], 240_000)
  expect(summary.failures, formatChurn(summary)).toEqual([])
  // One cycle in 50 is a half-open peer (detached at the heartbeat timeout, closed after the grace); every other drops and resumes.
  expect(summary.kinds).toEqual({ fin: 0, reset: 0, 'half-open': 200, resume: 9_800 })
  expect(summary.reasons).toEqual({ 'client-closed': 11_760, 'heartbeat-timeout': 240 })
  const point = summary.memory.points.find((p) => p.cycles === 10_000)!
  expect(point.heapPerCycle).toBeLessThan(200)
  expect(point.heapSlope).toBeLessThan(200)
  expect(summary.sessions!.registered - summary.sessions!.collected).toBeLessThanOrEqual(8)
  // One connection actor per session and one per resume, none alive.
  expect(summary.actors).toEqual({ created: 12_000 + 11_760, alive: 0 })
}, 300_000)

function runSoakChild(args: string[], timeoutMs: number): Promise<ChurnSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'stress/soak.ts', ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`stress/soak.ts did not finish within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`))
    }, timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ChurnSummary)
      } catch {
        reject(new Error(`stress/soak.ts printed no JSON summary; stdout: ${stdout.slice(-2000)} stderr: ${stderr.slice(-2000)}`))
      }
    })
  })
}
