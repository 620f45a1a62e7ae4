/**
 * Churn over WebSocket: many connect / echo / close cycles, half ending with a close frame and half
 * cut abruptly (an RST under the WebSocket, no close frame), many at once. Every onConnect has one
 * onDisconnect with the reason that matches what the peer did, the registry ends empty, and no
 * socket is left open.
 */
import { afterEach, expect, it } from 'vitest'
import type { CloseReason } from '../../src/errors.js'
import { frame } from '../helpers/frames.js'
import { cleanup, rng, startServer } from '../helpers/harness.js'
import { RawWebSocketPeer } from '../helpers/rawWebSocketPeer.js'
import { waitFor } from '../helpers/wait.js'

afterEach(cleanup)

/** Open TCP handles of this process (the server's and the peers'). */
function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length
}

it('1,000 WebSocket cycles of connect/echo/close, half cut abruptly: pairs complete, reasons right, registry empty, no socket left', async () => {
  const CYCLES = 1_000
  const WORKERS = 50
  const r = rng(0xc0de)
  const h = await startServer({ transport: 'websocket' })
  const before = tcpHandles()
  let maxOpen = 0
  let next = 0

  const cycle = async (): Promise<void> => {
    const abrupt = r.int(2) === 0
    const peer = await RawWebSocketPeer.open(h.webSocketUrl)
    // The plan travels in the frame: local ports are reused over a thousand cycles.
    const planned: CloseReason = abrupt ? 'reset' : 'client-closed'
    await peer.write(frame(1, planned))
    await waitFor(() => peer.messages.length === 1, { message: 'echo' })
    maxOpen = Math.max(maxOpen, h.server.connectionCount)
    if (abrupt) peer.reset()
    else peer.end()
    await peer.waitClosed(5_000)
  }

  const worker = async (): Promise<void> => {
    while (next < CYCLES) {
      next++
      await cycle()
    }
  }
  await Promise.all(Array.from({ length: WORKERS }, worker))

  await waitFor(() => h.server.connectionCount === 0 && h.disconnects.length === CYCLES, {
    timeout: 10_000,
    message: () => `registry ${h.server.connectionCount}, connects ${h.connects.length}, disconnects ${h.disconnects.length}`,
  })
  expect(h.connects).toHaveLength(CYCLES)
  expect(h.pairingProblems()).toEqual([])
  expect(maxOpen).toBeGreaterThan(5)
  const wrong = h.disconnects
    .map(({ session, error }) => ({ session, reason: error.code, planned: Buffer.from(h.messagesFrom(session)[0]!.data).toString() }))
    .filter(({ reason, planned }) => reason !== planned)
  expect(wrong.map(({ session, reason, planned }) => `${session.remoteAddress}: ${reason}, planned ${planned}`)).toEqual([])
  const counts: Record<string, number> = {}
  for (const { error } of h.disconnects) counts[error.code] = (counts[error.code] ?? 0) + 1
  expect(Object.keys(counts).sort()).toEqual(['client-closed', 'reset'])
  expect(h.errors).toEqual([])
  // Every socket of every cycle is gone, on both ends (the listeners' own handles aside).
  await waitFor(() => tcpHandles() <= before, { timeout: 5_000, message: () => `${tcpHandles()} TCP handles, ${before} before` })
  console.log(`websocket churn: ${CYCLES} cycles, max ${maxOpen} open; reasons`, counts)
}, 90_000)
