/**
 * Graceful drain: 100 clients, each with 100 messages in flight, when the server stops: every
 * message that reached the server is handled and answered before its socket closes. In-process
 * with `server.stop()`, and against `src/cli.ts` in a child process with SIGTERM (exit code 0);
 * and a second SIGTERM that cuts a waiting stop short.
 */
import { connect as netConnect } from 'node:net'
import { expect, it } from 'vitest'
import { startCli } from '../../stress/child.js'
import { formatDrain, runDrain } from '../../stress/drain.js'
import { encode } from '../../stress/wire.js'
import { orAfter, until } from '../helpers/wait.js'

it('server.stop() answers all 100 x 100 in-flight messages before closing each session with server-stopping', async () => {
  const summary = await runDrain({ server: 'in-process', clients: 100, messages: 100 })
  expect(summary.failures, formatDrain(summary)).toEqual([])
  expect(summary.handled).toBe(10_000)
  expect(summary.answered).toBe(10_000)
  expect(summary.clientsFullyAnswered).toBe(100)
  expect(summary.serverReasons).toEqual({ 'server-stopping': 100 })
  expect(summary.clientCloseReasons).toEqual({ 'server-closed': 100 })
}, 60_000)

it('SIGTERM to the CLI answers all 100 x 100 in-flight messages, closes with server-stopping and exits 0', async () => {
  const summary = await runDrain({ server: 'cli', clients: 100, messages: 100 })
  expect(summary.failures, formatDrain(summary)).toEqual([])
  expect(summary.exitCode).toBe(0)
  expect(summary.answered).toBe(10_000)
  expect(summary.clientsFullyAnswered).toBe(100)
  expect(summary.serverReasons).toEqual({ 'server-stopping': 100 })
}, 60_000)

it('a second SIGTERM makes the CLI exit with 0 while the first is still waiting on a peer that never closes', async () => {
  const cli = await startCli(['--port', '0'])
  try {
    // A peer that reads nothing and never closes: the server's FIN goes unanswered, so the first
    // stop waits for it (up to the server's linger bound).
    const peer = netConnect({ host: '127.0.0.1', port: cli.port })
    peer.on('error', () => {})
    await new Promise((resolve) => peer.once('connect', resolve))
    peer.pause()
    peer.write(encode(1, Buffer.from('hello')))
    expect(await until(() => cli.lines.some((line) => line.startsWith('connect ')), 5_000)).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 200))

    cli.child.kill('SIGTERM')
    // The CLI treats a copy within 300 ms as the same request (a Ctrl-C reaches the whole process group).
    await new Promise((resolve) => setTimeout(resolve, 400))
    // The first stop is still waiting on the peer.
    expect(cli.child.exitCode).toBeNull()
    expect(cli.lines.some((line) => line.includes('zerostate: stopped'))).toBe(false)
    cli.child.kill('SIGTERM')
    // No bound on how fast (a loaded machine can break any): that it exits 0 by the second signal,
    // the graceful stop never having finished, while the peer is still connected from its side.
    const code = await orAfter(cli.exited, 10_000, 'still running')
    expect(code).toBe(0)
    expect(cli.lines.some((line) => line.includes('again, exiting without waiting'))).toBe(true)
    expect(cli.lines.some((line) => line.includes('zerostate: stopped')), 'the first stop was cut short').toBe(false)
    expect(peer.destroyed, 'the peer never closed').toBe(false)
    peer.destroy()
  } finally {
    cli.kill()
  }
}, 30_000)
