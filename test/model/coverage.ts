export * from '../../src/testing/coverage.js'
