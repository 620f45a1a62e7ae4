/**
 * Lossless resume under cuts: 10,000 sequenced broadcasts to a resuming client, and 1,000
 * sequenced frames from it, with the connection cut by a proxy at 1 to 3 random points, 100
 * times over TCP and 100 times over WebSocket. Every run, each side's sequence must be exactly
 * 0..n-1: nothing lost, nothing repeated, nothing reordered. The seeds are fixed, so a failing
 * run replays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { connect } from '../../src/client.js'
import type { ZerostateClient } from '../../src/client/zerostateClient.js'
import type { Message } from '../../src/protocol/message.js'
import type { Session } from '../../src/session.js'
import { connectWebSocket } from '../../src/webSocketClient.js'
import { CutProxy } from '../helpers/cutProxy.js'
import { cleanup, type Harness, rng, SimulatedClock, startServer } from '../helpers/harness.js'
import { TRANSPORTS } from '../helpers/peer.js'
import { waitFor } from '../helpers/wait.js'

const RUNS = 100
const BROADCASTS = 10_000
const FROM_CLIENT = 1_000
/** Frames sent per event-loop turn, so that cuts land mid-stream. */
const BATCH = 250

function seq(n: number): Buffer {
  const data = Buffer.alloc(4)
  data.writeUInt32BE(n, 0)
  return data
}

const seqOf = (message: Message) => Buffer.from(message.data).readUInt32BE(0)

/** The first index at which `got` is not 0, 1, 2, …, or -1 when it is exactly 0..n-1. */
function firstFault(got: readonly number[], n: number): number {
  if (got.length !== n) return Math.min(got.length, n)
  return got.findIndex((value, i) => value !== i)
}

describe.each(TRANSPORTS)('resume under random cuts over %s', (transport) => {
  let h: Harness
  let proxy: CutProxy
  const fromClients = new Map<Session, number[]>()

  beforeAll(async () => {
    // The server's clock never moves: no heartbeat or grace deadline interferes with the cuts.
    h = await startServer({ transport, clock: new SimulatedClock(), resume: { grace: 60_000, replayBytes: 512 * 1024 }, echo: false })
    h.onMessage((session, message) => {
      if (message.id === 2) fromClients.get(session)?.push(seqOf(message)) ?? fromClients.set(session, [seqOf(message)])
    })
    proxy = await CutProxy.open(transport === 'tcp' ? h.port : Number(new URL(h.webSocketUrl).port))
  })

  afterAll(async () => {
    await proxy.close()
    await cleanup()
  })

  it(`${RUNS} runs of ${BROADCASTS.toLocaleString('en')} broadcasts and ${FROM_CLIENT.toLocaleString('en')} client frames, cut 1 to 3 times each: gap-free and duplicate-free every time`, async () => {
    let cuts = 0
    for (let run = 0; run < RUNS; run++) {
      const random = rng(1_000 + run)
      const resume = { minDelay: 1, maxDelay: 10, random: random.next }
      const client: ZerostateClient =
        transport === 'tcp'
          ? await connect({ port: proxy.port, heartbeatInterval: 0, resume })
          : await connectWebSocket({ url: `ws://127.0.0.1:${proxy.port}/`, WebSocket, heartbeatInterval: 0, resume })
      const got: number[] = []
      client.onMessage((message) => message.id === 1 && got.push(seqOf(message)))
      client.send({ id: 3, data: Buffer.from('hello') })
      await waitFor(() => h.connects.length === run + 1 && h.connects[run]!.state === 'active')
      const session = h.connects[run]!
      // A connection cut before its client holds a resume token cannot be resumed: the first cut
      // waits until the client has read a frame sent after the token.
      const hasToken = new Promise<void>((resolve) => client.onMessage((message) => message.id === 4 && resolve()))
      session.send({ id: 4, data: new Uint8Array(0) })
      await hasToken
      const cutAt = new Set(Array.from({ length: 1 + random.int(3) }, () => random.int(BROADCASTS / BATCH)))
      cuts += cutAt.size
      for (let batch = 0; batch < BROADCASTS / BATCH; batch++) {
        for (let i = batch * BATCH; i < (batch + 1) * BATCH; i++) h.server.broadcast({ id: 1, data: seq(i) })
        const clientSeqs = FROM_CLIENT / (BROADCASTS / BATCH)
        for (let i = batch * clientSeqs; i < (batch + 1) * clientSeqs; i++) client.send({ id: 2, data: seq(i) })
        if (cutAt.has(batch)) proxy.cut()
        await new Promise((resolve) => setImmediate(resolve))
      }
      await waitFor(() => got.length >= BROADCASTS && (fromClients.get(session)?.length ?? 0) >= FROM_CLIENT, {
        timeout: 20_000,
        message: () =>
          `run ${run}: the client (${client.status}, ${client.closeReason}) has ${got.length} broadcasts, the server (session ${session.state}) ${fromClients.get(session)?.length ?? 0} frames`,
      })
      expect(firstFault(got, BROADCASTS), `run ${run} (seed ${1_000 + run}): broadcasts received`).toBe(-1)
      expect(firstFault(fromClients.get(session)!, FROM_CLIENT), `run ${run}: frames the server read`).toBe(-1)
      expect(session.state).toBe('active')
      await client.close()
      h.server.session(session.id) && (await waitFor(() => session.state === 'closed'))
    }
    expect(h.connects).toHaveLength(RUNS)
    expect(h.disconnects.map((d) => d.error.code)).toEqual(Array(RUNS).fill('client-closed'))
    console.log(`resume over ${transport}: ${RUNS} runs, ${cuts} cuts, every sequence whole`)
  }, 300_000)
})
