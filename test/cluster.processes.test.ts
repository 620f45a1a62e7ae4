/**
 * Three node processes on the real nats-server, as a cluster is really run: cross-node unicast and
 * broadcast with sequence numbers (nothing lost, repeated or reordered per sender), and 1,000
 * cluster-wide joins at once, checked against the directory the nodes keep in JetStream KV.
 */
import { randomBytes } from 'node:crypto'
import { Kvm } from '@nats-io/kv'
import { connect as connectNats } from '@nats-io/transport-node'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { type Client, connect } from '../src/client.js'
import type { Message } from '../src/protocol/message.js'
import type { RoomInfo } from '../src/rooms/room.js'
import { ROOM_CONTROL_IDS } from '../src/rooms/roomControl.js'
import { type CliProcess, spawnCli } from '../stress/child.js'
import { ClusterNodes, NATS } from './helpers/clusterNodes.js'

const clusters = new ClusterNodes()
const children: CliProcess[] = []
const clients: Client[] = []

afterEach(() => {
  for (const client of clients.splice(0)) client.reset()
  for (const child of children.splice(0)) child.child.kill('SIGKILL')
})

afterAll(() => clusters.destroy())

/** Three processes of `script`, nodes a, b and c of a new cluster; their ports. */
async function nodeProcesses(script: string, env: Record<string, string>): Promise<{ name: string; nodes: CliProcess[]; ports: number[] }> {
  const name = `test-${randomBytes(4).toString('hex')}`
  clusters.names.push(name)
  const nodes = ['a', 'b', 'c'].map((node) => spawnCli([], undefined, [], { script, env: { NATS_URL: NATS, CLUSTER_NAME: name, NODE: node, PORT: '0', ...env }, stream: 'stdout' }))
  children.push(...nodes)
  const ports = await Promise.all(nodes.map(async (child, i) => Number((await child.waitForLine(new RegExp(`^node ${'abc'[i]} on (\\d+)$`), 30_000))[1])))
  return { name, nodes, ports }
}

async function client(port: number, got: Message[]): Promise<Client> {
  const c = await connect({ port, heartbeatInterval: 0 })
  clients.push(c)
  c.onMessage((message) => void got.push({ id: message.id, data: Uint8Array.from(message.data) }))
  return c
}

async function until(condition: () => boolean, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeout} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('three node processes', () => {
  it('unicast and broadcast across them: each sender\'s 1,000 frames arrive once each and in order', async () => {
    // A 1 s heartbeat: three loaded processes on two cores may stall past 600 ms, and a node not heard for three heartbeats is dead to the others.
    const { nodes, ports } = await nodeProcesses('examples/cluster/node.ts', { HEARTBEAT: '1000' })
    const got: Message[][] = [[], [], []]
    const sessions = nodes.map((node) => node.waitForLine(/^session (\S+)$/, 10_000))
    const players = await Promise.all(ports.map((port, n) => client(port, got[n]!)))
    const ids = (await Promise.all(sessions)).map(([, id]) => id!)
    // A session is in the directory of every node a moment after it opens: each player's first unicast is retried until it lands.
    for (const [n, player] of players.entries()) {
      const target = ids[(n + 1) % 3]!
      await until(() => {
        player.send({ id: 2, data: Buffer.from(`${target}probe`) })
        return got[(n + 1) % 3]!.some((m) => Buffer.from(m.data).toString().endsWith('probe'))
      }, 5_000, `node ${n} reaches the next node's session`)
    }
    const SENDS = 1_000
    for (let i = 0; i < SENDS; i++) {
      for (const [n, player] of players.entries()) {
        const sequence = Buffer.alloc(8)
        sequence.writeUInt32BE(n, 0)
        sequence.writeUInt32BE(i, 4)
        player.send({ id: 7, data: sequence })
        // The same sequence, to the next node's session alone.
        player.send({ id: 2, data: Buffer.concat([Buffer.from(ids[(n + 1) % 3]!), sequence]) })
      }
    }
    // Each gets every node's 1,000 broadcasts and the previous node's 1,000 unicasts.
    // Late probes may still arrive: the sequences are told apart by their length.
    const sequenced = (list: Message[]) => list.filter((m) => (m.id === 7 && m.data.length === 8) || (m.id === 2 && m.data.length === 44))
    await until(() => got.every((list) => sequenced(list).length >= SENDS * 4), 30_000, 'every frame arrives')
    await new Promise((resolve) => setTimeout(resolve, 200)) // and none more
    for (const [receiver, all] of got.entries()) {
      const list = sequenced(all)
      expect(list).toHaveLength(SENDS * 4)
      for (let n = 0; n < 3; n++) {
        const broadcasts = list.filter((m) => m.id === 7).map((m) => Buffer.from(m.data)).filter((d) => d.readUInt32BE(0) === n)
        expect(broadcasts.map((d) => d.readUInt32BE(4)), `node ${receiver} gets node ${n}'s broadcasts`).toEqual(Array.from({ length: SENDS }, (_, i) => i))
      }
      const unicasts = list.filter((m) => m.id === 2).map((m) => Buffer.from(m.data).subarray(36))
      expect(unicasts.every((d) => d.readUInt32BE(0) === (receiver + 2) % 3)).toBe(true)
      expect(unicasts.map((d) => d.readUInt32BE(4)), `node ${receiver} gets the previous node's unicasts`).toEqual(Array.from({ length: SENDS }, (_, i) => i))
    }
  }, 60_000)

  it('1,000 joins at once over them: every player seated once, no room over its 10 seats, rooms on every node, as the directory in KV says too', async () => {
    const { name, ports } = await nodeProcesses('examples/cluster/roomNode.ts', { MAX_PLAYERS: '10', HEARTBEAT: '1000' })
    const joined = new Map<number, string>()
    const refused: string[] = []
    const players = await Promise.all(
      Array.from({ length: 1_000 }, async (_, i) => {
        const got: Message[] = []
        const player = await client(ports[i % 3]!, got)
        player.onMessage((message) => {
          if (message.id === ROOM_CONTROL_IDS.JOINED) joined.set(i, String(JSON.parse(Buffer.from(message.data).toString()).roomId))
          if (message.id === ROOM_CONTROL_IDS.REFUSED) refused.push(Buffer.from(message.data).toString())
        })
        return player
      }),
    )
    for (const player of players) player.send({ id: ROOM_CONTROL_IDS.JOIN, data: Buffer.from(JSON.stringify({ name: 'tally' })) })
    await until(() => joined.size + refused.length === 1_000, 30_000, 'every join answered')
    expect(refused).toEqual([])
    const seats = new Map<string, number>()
    for (const roomId of joined.values()) seats.set(roomId, (seats.get(roomId) ?? 0) + 1)
    expect(Math.max(...seats.values())).toBeLessThanOrEqual(10)

    // The directory the nodes keep, read from KV as a stranger would.
    const nc = await connectNats({ servers: NATS })
    try {
      const kv = await new Kvm(nc).open(`${name}-rooms`)
      let rooms: RoomInfo[] = []
      // Each owner writes its rooms' entries once per event-loop turn: read until they have caught up.
      for (let tries = 0; tries < 100; tries++) {
        rooms = []
        for await (const key of await kv.keys()) {
          const entry = await kv.get(key)
          if (entry?.operation === 'PUT') rooms.push(entry.json<RoomInfo>())
        }
        if (rooms.reduce((sum, room) => sum + room.players.length, 0) === 1_000) break
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(new Set(rooms.map((room) => room.id))).toEqual(new Set(seats.keys()))
      for (const room of rooms) expect(room.players.length).toBe(seats.get(room.id))
      expect(new Set(rooms.map((room) => room.node)), 'rooms placed on every node').toEqual(new Set(['a', 'b', 'c']))
      // Concurrent matching opens more rooms than the 100 that would hold them, but not wildly more.
      expect(rooms.length).toBeLessThan(250)
    } finally {
      await nc.close()
    }
  }, 90_000)
})
