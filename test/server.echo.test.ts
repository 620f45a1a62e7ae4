/**
 * Framing over real TCP: echo round trips, frames split at every byte, many frames in one write.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ServerSession } from '../src/serverSession.js'
import { bytesEqual, frame } from './helpers/frames.js'
import { cleanup, openClient, rng, roundTrip, startServer } from './helpers/harness.js'
import { RawPeer } from './helpers/rawPeer.js'
import { nextIO, waitFor } from './helpers/wait.js'

afterEach(async () => {
  vi.restoreAllMocks()
  await cleanup()
})

/**
 * Counts socket reads on the server side, to check that a split written by the test really reached
 * the decoder as separate chunks (TCP may coalesce; loopback in one process rarely does).
 */
function countReads(): { readonly reads: number[] } {
  const spy = vi.spyOn(ServerSession.prototype, 'onData')
  return {
    get reads() {
      return spy.mock.calls.map(([chunk]) => chunk.length)
    },
  }
}

/** A few frames of varied shape: empty payload, negative and large ids, a payload over 255 bytes. */
function sampleStream(): { frames: { id: number; data: Buffer }[]; bytes: Buffer } {
  const r = rng(7)
  const frames = [
    { id: 1, data: Buffer.alloc(0) },
    { id: -5, data: Buffer.from('hi') },
    { id: 0x7fffffff, data: r.bytes(19) },
    { id: 300, data: r.bytes(3) },
  ]
  return { frames, bytes: Buffer.concat(frames.map((f) => frame(f.id, f.data))) }
}

describe('echo', () => {
  it('round-trips a message through a TypeScript client', async () => {
    const h = await startServer()
    const client = await openClient(h.port)
    const echo = await roundTrip(client, { id: 42, data: Buffer.from('hello zero') })
    expect(echo.id).toBe(42)
    expect(Buffer.from(echo.data).toString()).toBe('hello zero')
    expect(h.messages).toHaveLength(1)
    expect(h.messages[0]!.message.id).toBe(42)
    expect(h.connects).toHaveLength(1)
    expect(h.connects[0]!.state).toBe('active')
  })

  it('round-trips random payloads from 0 bytes to 64 KiB, byte for byte', async () => {
    const h = await startServer()
    const client = await openClient(h.port)
    const r = rng(1)
    const sizes = [0, 1, 2, 255, 256, 1000, 4096, 65535, 65536, ...Array.from({ length: 20 }, () => r.int(65537))]
    for (const [i, size] of sizes.entries()) {
      const data = r.bytes(size)
      const id = i % 2 === 0 ? i + 1 : -(i + 1)
      const echo = await roundTrip(client, { id, data })
      expect(echo.id).toBe(id)
      expect(echo.data.length).toBe(size)
      expect(bytesEqual(echo.data, data)).toBe(true)
    }
  })

  it('accepts a payload of exactly maxPayload bytes', async () => {
    const h = await startServer({ maxPayload: 1024 })
    const client = await openClient(h.port)
    const data = rng(3).bytes(1024)
    const echo = await roundTrip(client, { id: 9, data })
    expect(bytesEqual(echo.data, data)).toBe(true)
    expect(h.disconnects).toHaveLength(0)
  })

  it('echoes to a raw socket with frames that parse and checksum by an independent decoder', async () => {
    const h = await startServer()
    const peer = await RawPeer.open(h.port)
    await peer.write(frame(7, 'raw'))
    await waitFor(() => peer.messages.length === 1)
    const got = peer.frames.find((f) => f.id === 7)!
    expect(got.badChecksum).toBe(false)
    expect(bytesEqual(got.raw, frame(7, 'raw'))).toBe(true)
  })
})

describe('streaming decode over TCP', () => {
  it('decodes a multi-frame stream written one byte at a time', async () => {
    const h = await startServer()
    const { frames, bytes } = sampleStream()
    const reads = countReads()
    const peer = await RawPeer.open(h.port)
    await waitFor(() => h.connects.length === 1)
    await peer.writeBytewise(bytes)
    await waitFor(() => h.messages.length === frames.length)
    // Most bytes reached the decoder on their own.
    expect(reads.reads.length).toBeGreaterThanOrEqual(bytes.length / 2)
    expect(h.messages.map((m) => m.message.id)).toEqual(frames.map((f) => f.id))
    for (const [i, f] of frames.entries()) expect(bytesEqual(h.messages[i]!.message.data, f.data)).toBe(true)
    await waitFor(() => peer.messages.length === frames.length)
    expect(bytesEqual(peer.received, bytes)).toBe(true)
    expect(h.disconnects).toHaveLength(0)
  })

  it('decodes the same stream split into two writes at every split point', async () => {
    const h = await startServer()
    const { frames, bytes } = sampleStream()
    const reads = countReads()
    const peer = await RawPeer.open(h.port)
    await waitFor(() => h.connects.length === 1)
    let seenApart = 0
    for (let split = 1; split < bytes.length; split++) {
      const before = h.messages.length
      const readsBefore = reads.reads.length
      await peer.write(bytes.subarray(0, split))
      // Let the server read the first part on its own before the second arrives.
      await nextIO()
      await nextIO()
      await peer.write(bytes.subarray(split))
      await waitFor(() => h.messages.length === before + frames.length, { message: `split at ${split}` })
      const got = h.messages.slice(before).map((m) => m.message)
      expect(got.map((m) => m.id), `split at ${split}`).toEqual(frames.map((f) => f.id))
      for (const [i, f] of frames.entries()) expect(bytesEqual(got[i]!.data, f.data), `split at ${split}, frame ${i}`).toBe(true)
      if (reads.reads[readsBefore] === split) seenApart++
    }
    // The decoder really got the two parts as separate chunks for most split points.
    expect(seenApart).toBeGreaterThanOrEqual((bytes.length - 1) / 2)
    expect(h.disconnects).toHaveLength(0)
    expect(h.messages).toHaveLength((bytes.length - 1) * frames.length)
  })

  it('delivers 100 frames written in one write, in order, and echoes them in order', async () => {
    const h = await startServer()
    const r = rng(11)
    const sent = Array.from({ length: 100 }, (_, i) => ({ id: i + 1, data: r.bytes(r.int(64)) }))
    const peer = await RawPeer.open(h.port)
    await peer.write(Buffer.concat(sent.map((m) => frame(m.id, m.data))))
    await waitFor(() => h.messages.length === 100)
    expect(h.messages.map((m) => m.message.id)).toEqual(sent.map((m) => m.id))
    await waitFor(() => peer.messages.length === 100)
    const echoed = peer.messages
    expect(echoed.map((m) => m.id)).toEqual(sent.map((m) => m.id))
    for (const [i, m] of sent.entries()) expect(bytesEqual(echoed[i]!.data, m.data)).toBe(true)
  })

  it('delivers 100 frames sent by the client in one tick, in order', async () => {
    const h = await startServer()
    const client = await openClient(h.port)
    for (let i = 0; i < 100; i++) client.send({ id: i + 1, data: Buffer.from(String(i)) })
    const echoes = []
    for (let i = 0; i < 100; i++) echoes.push(await client.receive())
    expect(echoes.map((m) => m.id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(echoes.map((m) => Buffer.from(m.data).toString())).toEqual(Array.from({ length: 100 }, (_, i) => String(i)))
  })
})
