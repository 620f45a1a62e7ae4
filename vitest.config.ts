import { defineConfig } from 'vitest/config'
import type { Reporter, TestModule } from 'vitest/node'

/** Ends the run with one plain `N passed, N failed, N skipped` line that any CI can read. */
const summary: Reporter = {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    const counts = { passed: 0, failed: 0, skipped: 0 }
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') counts.passed++
        else if (state === 'failed') counts.failed++
        else counts.skipped++
      }
    }
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`)
  },
}

/**
 * What runs in the reliability project: the heavy runs (thousands of sockets, child processes, the
 * smoke bench, churn and load) that take seconds each. Everything else is the fast project, which
 * `npm run test:fast` runs alone; `npm test` runs both.
 */
const RELIABILITY = [
  'test/reliability/**/*.test.ts',
  'test/arena/browser.test.ts',
  'test/arena/demo.test.ts',
  'test/docs.game.test.ts',
  'test/bench.smoke.test.ts',
  'test/cli.test.ts',
  'test/inspect.test.ts',
  'test/server.churn.test.ts',
  'test/server.load.test.ts',
  'test/cluster.rooms.test.ts',
  'test/cluster.processes.test.ts',
]

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests open thousands of sockets; separate processes keep their fds and memory apart.
    pool: 'forks',
    reporters: ['default', summary],
    projects: [
      { extends: true, test: { name: 'fast', include: ['test/**/*.test.ts'], exclude: RELIABILITY } },
      { extends: true, test: { name: 'reliability', include: RELIABILITY } },
    ],
  },
})
