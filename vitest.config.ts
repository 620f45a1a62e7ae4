import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests open thousands of sockets; separate processes keep their fds and memory apart.
    pool: 'forks',
  },
})
