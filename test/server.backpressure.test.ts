/**
 * A peer that sends and never reads: TCP pushes back, the server stops reading it, and since it
 * can then not be heard either, the heartbeat timeout finds a slow consumer, not a dead peer.
 */
import { connect as connectSocket, type Socket } from 'node:net'
import { afterEach, expect, it } from 'vitest'
import { frame } from './helpers/frames.js'
import { cleanup, SimulatedClock, startServer } from './helpers/harness.js'
import { settle, waitFor } from './helpers/wait.js'

const sockets = new Set<Socket>()
afterEach(async () => {
  for (const socket of sockets) socket.destroy()
  sockets.clear()
  await cleanup()
})

/** A connected socket that never reads what it is sent. */
function openDeafSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectSocket({ host: '127.0.0.1', port }, () => resolve(socket))
    socket.once('error', reject)
    socket.pause()
    sockets.add(socket)
  })
}

it('closes a peer held paused for backpressure past the heartbeat timeout with slow-consumer, not heartbeat-timeout', async () => {
  const clock = new SimulatedClock()
  // Reading pauses at a quarter of maxBufferedBytes unsent (2 MiB). One event-loop turn can read
  // 2 MiB (libuv reads a socket up to 32 times a turn) before the echoes are written, so the
  // overflow at 8 MiB stays out of reach.
  const h = await startServer({ clock, heartbeat: { interval: 1_000, timeout: 3_000 }, maxBufferedBytes: 8 << 20 })
  const socket = await openDeafSocket(h.port)
  const session = await h.sessionFor(socket.localPort!)

  // 32 MiB of 64 KiB frames, far more than the kernel's buffers on both sides and our 2 MiB hold.
  const chunk = frame(7, Buffer.alloc(64 * 1024, 1))
  for (let i = 0; i < 512; i++) socket.write(chunk)
  // The server echoes until the peer's buffers are full, then stops reading: the count stops growing.
  let seen = -1
  await waitFor(
    () => {
      const now = h.messagesFrom(session).length
      const stable = now > 0 && now === seen
      seen = now
      return stable
    },
    { interval: 100, timeout: 10_000, message: 'the server stopped reading the peer' },
  )
  expect(seen).toBeLessThan(512)
  expect(session.closeReason, `closed after ${seen} echoes`).toBeNull()

  for (let t = 0; t < 3_000; t += 250) clock.increment(250)
  await settle()
  const error = await h.disconnectOf(session)
  expect(error.code).toBe('slow-consumer')
})

it('still closes a silent peer that reads everything with heartbeat-timeout', async () => {
  const clock = new SimulatedClock()
  const h = await startServer({ clock, heartbeat: { interval: 1_000, timeout: 3_000 } })
  const socket = await openDeafSocket(h.port)
  socket.resume()
  const session = await h.sessionFor(socket.localPort!)
  socket.write(frame(7, Buffer.alloc(64 * 1024, 1)))
  await waitFor(() => h.messagesFrom(session).length === 1)

  for (let t = 0; t < 3_000; t += 250) clock.increment(250)
  await settle()
  expect((await h.disconnectOf(session)).code).toBe('heartbeat-timeout')
})
