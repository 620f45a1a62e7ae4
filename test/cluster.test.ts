/**
 * Nodes of one cluster on the real nats-server (127.0.0.1:4222, which .ci/run starts): three
 * servers, each its own NATS connection and node id, a cluster name of its own per test so runs
 * never meet. Unicast reaches a session on another node, broadcast every node's sessions (in order
 * per sender), the directory says which node holds a session, and a node that goes, cleanly or
 * silently, leaves it.
 */
import { randomBytes } from 'node:crypto'
import { createConnection } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { AnyActorRef, InspectionEvent } from 'xstate'
import { type Client, connect } from '../src/client.js'
import WebSocket from 'ws'
import { type Address, connectWebSocket, createServer, openFileInspector, type Server, type ServerOptions } from '../src/index.js'
import { tokenPrefix } from '../src/cluster/tunnels.js'
import { FrameDecoder } from '../src/protocol/decoder.js'
import { encodeFrame } from '../src/protocol/encoder.js'
import type { Message } from '../src/protocol/message.js'
import { goodbyeReason, RESUME_CONTROL_IDS, resumeFrame, TOKEN_BYTES } from '../src/resume/resumeControl.js'
import { spawnCli } from '../stress/child.js'
import { ClusterNodes, NATS } from './helpers/clusterNodes.js'
import { CutProxy } from './helpers/cutProxy.js'
import { PrivateNats } from './helpers/privateNats.js'
import { waitFor } from './helpers/wait.js'

const clusters = new ClusterNodes()
const clients: Client[] = []

afterAll(() => clusters.destroy())

afterEach(async () => {
  for (const client of clients.splice(0)) client.reset()
  await clusters.stop()
})

const cluster = (count: number, options: Partial<ServerOptions['cluster']> = {}) => clusters.start(count, options)

async function player(port: number, got: Message[] = []): Promise<{ client: Client; got: Message[] }> {
  const client = await connect({ port, heartbeatInterval: 0 })
  clients.push(client)
  client.onMessage((message) => got.push({ id: message.id, data: Uint8Array.from(message.data) }))
  client.send({ id: 1, data: new Uint8Array(0) })
  return { client, got }
}


const sessionsOf = (server: Server) =>
  new Promise<string>((resolve) => {
    const stop = server.onConnect((session) => {
      stop()
      resolve(session.id)
    })
  })

describe('a cluster on NATS', () => {
  it('unicast reaches a session on another node, and the directory says which node holds it', async () => {
    const { nodes, ports } = await cluster(3)
    const [a, b, c] = nodes as [Server, Server, Server]
    expect([a.node, b.node, c.node]).toEqual(['a', 'b', 'c'])
    const joined = sessionsOf(c)
    const { got } = await player(ports[2]!)
    const sessionId = await joined
    await waitFor(() => a.locate(sessionId) === 'c' && b.locate(sessionId) === 'c')
    expect(c.locate(sessionId)).toBe('c')
    expect(a.session(sessionId), 'a holds no such session itself').toBeUndefined()
    expect(a.unicast(sessionId, { id: 5, data: Buffer.from('from a') })).toBe(true)
    await waitFor(() => got.length === 1)
    expect(Buffer.from(got[0]!.data).toString()).toBe('from a')
    expect(a.unicast('no-such-session-0000-0000-000000000000', { id: 5, data: Buffer.alloc(1) })).toBe(false)
    // A frame larger than one NATS message (1 MB here) cannot cross: unicast and broadcast say so, and nothing breaks.
    const huge = { id: 6, data: new Uint8Array(1024 * 1024) }
    expect(a.unicast(sessionId, huge)).toBe(false)
    expect(a.broadcast(huge)).toBe(0)
    expect(a.unicast(sessionId, { id: 5, data: Buffer.from('after') })).toBe(true)
    await waitFor(() => got.length === 2)
    expect(got.map((message) => message.id)).toEqual([5, 5])
  })

  it('findUser says which sessions of which nodes a user id has, as each node binds it', async () => {
    const { nodes, ports } = await cluster(3)
    const [a, b, c] = nodes as [Server, Server, Server]
    for (const node of [b, c]) node.onMessage((session, message) => session.bindUser(Buffer.from(message.data).toString()))
    const onB = sessionsOf(b)
    const atB = await player(ports[1]!)
    const onC = sessionsOf(c)
    const atC = await player(ports[2]!)
    const [sessionB, sessionC] = await Promise.all([onB, onC])
    atB.client.send({ id: 2, data: Buffer.from('alice') })
    atC.client.send({ id: 2, data: Buffer.from('alice') })
    await waitFor(() => a.findUser('alice').length === 2)
    expect(a.findUser('alice').sort((x, y) => x.node.localeCompare(y.node))).toEqual([
      { sessionId: sessionB, node: 'b' },
      { sessionId: sessionC, node: 'c' },
    ])
    // Each node's copy of the directory catches up on its own.
    await waitFor(() => b.findUser('alice').length === 2)
    atC.client.send({ id: 2, data: Buffer.from('bob') })
    await waitFor(() => a.findUser('bob').length === 1 && a.findUser('alice').length === 1)
    expect(a.findUser('nobody')).toEqual([])
  })

  it('broadcast reaches every node\'s sessions, each sender\'s 1,000 frames in order, none lost or repeated', async () => {
    const { nodes, ports } = await cluster(3)
    const joined = Promise.all(nodes.map(sessionsOf))
    const players = await Promise.all(ports.map((port) => player(port)))
    const ids = await joined
    await waitFor(() => nodes.every((node, n) => node.session(ids[n]!)?.state === 'active'))
    const SENDS = 1_000
    for (let i = 0; i < SENDS; i++) {
      for (const [n, node] of nodes.entries()) {
        const data = Buffer.alloc(8)
        data.writeUInt32BE(n, 0)
        data.writeUInt32BE(i, 4)
        node.broadcast({ id: 7, data })
      }
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve))
    }
    await waitFor(() => players.every(({ got }) => got.length === SENDS * nodes.length), { timeout: 20_000 })
    for (const { got } of players) {
      for (let n = 0; n < nodes.length; n++) {
        const fromNode = got.map((m) => Buffer.from(m.data)).filter((d) => d.readUInt32BE(0) === n).map((d) => d.readUInt32BE(4))
        expect(fromNode, `frames from node ${n}`).toEqual(Array.from({ length: SENDS }, (_, i) => i))
      }
    }
  })

  it('a node that stops takes its sessions out of the directory; one that goes silent loses them within three heartbeats', async () => {
    const { nodes, ports } = await cluster(3)
    const [a, b, c] = nodes as [Server, Server, Server]
    const onB = sessionsOf(b)
    await player(ports[1]!)
    const onC = sessionsOf(c)
    await player(ports[2]!)
    const [sessionB, sessionC] = await Promise.all([onB, onC])
    await waitFor(() => a.locate(sessionB) === 'b' && a.locate(sessionC) === 'c')
    await b.stop()
    await waitFor(() => a.locate(sessionB) === undefined && c.locate(sessionB) === undefined)
    // c's NATS connection dies without a word: its heartbeats stop.
    const silent = c as unknown as { cluster: { nc: { close(): Promise<void> } } }
    await silent.cluster.nc.close()
    const since = Date.now()
    await waitFor(() => a.locate(sessionC) === undefined, { timeout: 5_000 })
    expect(Date.now() - since, 'within three heartbeats of 200 ms, and a beat for the check').toBeLessThan(200 * 4 + 500)
    expect(a.unicast(sessionC, { id: 5, data: Buffer.alloc(1) })).toBe(false)
  })

  it('a node process killed with SIGKILL: its sessions leave every other node\'s directory within three heartbeats', async () => {
    const { nodes } = await cluster(1)
    const [a] = nodes as [Server]
    const name = clusters.names.at(-1)!
    const child = spawnCli([], undefined, [], { script: 'examples/cluster/node.ts', env: { NATS_URL: NATS, CLUSTER_NAME: name, NODE: 'doomed' }, stream: 'stdout' })
    try {
      const [, port] = await child.waitForLine(/^node doomed on (\d+)$/, 20_000)
      const joined = child.waitForLine(/^session (\S+)$/)
      await player(Number(port))
      const [, sessionId] = await joined
      await waitFor(() => a.locate(sessionId!) === 'doomed')
      expect(a.unicast(sessionId!, { id: 5, data: Buffer.from('hello') })).toBe(true)
      child.child.kill('SIGKILL')
      const since = Date.now()
      await waitFor(() => a.locate(sessionId!) === undefined, { timeout: 5_000 })
      expect(Date.now() - since).toBeLessThan(200 * 4 + 500)
      expect(a.unicast(sessionId!, { id: 5, data: Buffer.from('hello') })).toBe(false)
    } finally {
      child.child.kill('SIGKILL')
    }
  })

  it('NATS going away partitions every node (cluster chart: clustered, partitioned, clustered): each goes on serving its own, cross-node sends fail at once, and all rejoin when NATS is back', async () => {
    const nats = await PrivateNats.start()
    try {
      const log: string[] = []
      const name = `test-${randomBytes(4).toString('hex')}`
      const node = (id: string) =>
        createServer({
          cluster: { nats: nats.url, name, node: id, heartbeat: 200 },
          inspect: (event) => {
            if (event.type === '@xstate.snapshot' && (event.actorRef as { id?: string }).id === `cluster:${id}`) log.push(`${id} ${String((event.snapshot as { value?: unknown }).value)}`)
          },
        })
      const [a, b] = [node('a'), node('b')]
      clusters.servers.push(a, b)
      a.onMessage((session, message) => void session.send(message))
      const portA = (await a.listen({ port: 0 })).port
      const portB = (await b.listen({ port: 0 })).port
      const onB = sessionsOf(b)
      const atB = await player(portB)
      const sessionB = await onB
      const atA = await player(portA)
      await waitFor(() => a.locate(sessionB) === 'b')
      expect(a.clusterState).toBe('clustered')

      await nats.kill()
      await waitFor(() => a.clusterState === 'partitioned' && b.clusterState === 'partitioned')
      expect(a.unicast(sessionB, { id: 5, data: Buffer.from('lost') }), 'fails at once, never hangs').toBe(false)
      // a still serves its own session: the echo comes back.
      atA.client.send({ id: 3, data: Buffer.from('still here') })
      await waitFor(() => atA.got.some((m) => Buffer.from(m.data).toString() === 'still here'))
      expect(a.broadcast({ id: 6, data: Buffer.from('local') })).toBe(1)

      await nats.restart()
      await waitFor(() => a.clusterState === 'clustered' && b.clusterState === 'clustered', { timeout: 10_000 })
      await waitFor(() => a.locate(sessionB) === 'b', { timeout: 5_000 })
      await waitFor(() => a.unicast(sessionB, { id: 5, data: Buffer.from('back') }) && atB.got.some((m) => Buffer.from(m.data).toString() === 'back'), { timeout: 5_000 })
      expect(atB.got.map((m) => Buffer.from(m.data).toString())).not.toContain('lost')
      expect(log.filter((line) => line.startsWith('a '))).toEqual(['a clustered', 'a partitioned', 'a clustered'])
    } finally {
      await clusters.stop()
      await nats.stop()
    }
  }, 30_000)

  it('a client that comes back through another node resumes its own session, relayed to the node that holds it, nothing lost either way', async () => {
    const disconnects: string[] = []
    const { nodes, ports } = await clusters.start(
      2,
      {},
      (server) => {
        server.onMessage((session, message) => void session.send(message))
        server.onDisconnect((_session, error) => void disconnects.push(`${server.node} ${error.code}`))
      },
      { resume: { grace: 5_000 } },
    )
    const [a, b] = nodes as [Server, Server]
    const opened = sessionsOf(a)
    const proxy = await CutProxy.open(ports[0]!)
    try {
      const client = await connect({ port: proxy.port, heartbeatInterval: 0, resume: { minDelay: 10, maxDelay: 50 } })
      clients.push(client)
      const echoes: number[] = []
      let big: Uint8Array | null = null
      client.onMessage((message) => {
        if (message.id === 1) echoes.push(new DataView(message.data.buffer, message.data.byteOffset, 4).getUint32(0))
        else big = Uint8Array.from(message.data)
      })
      const ping = (n: number) => client.send({ id: 1, data: Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255) })
      const sessionId = await opened
      for (let n = 1; n <= 100; n++) ping(n)
      await waitFor(() => echoes.length === 100)

      // The network drops the connection; the load balancer sends the client back to node b.
      proxy.target = ports[1]!
      proxy.cut()
      for (let n = 101; n <= 200; n++) ping(n)
      // While the client is away, node b sends it frames too: they reach the session on a, which keeps them for the resume.
      for (let n = 201; n <= 300; n++) b.unicast(sessionId, { id: 1, data: Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255) })
      await waitFor(() => client.status === 'open' && echoes.length === 300, { timeout: 5_000 })
      for (let n = 301; n <= 400; n++) ping(n)
      await waitFor(() => echoes.length === 400)
      expect([...echoes].sort((x, y) => x - y)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1))
      // Each sender's frames in order: the pings (echoed by a) and b's unicasts.
      expect(echoes.filter((n) => n <= 200 || n > 300)).toEqual([...Array.from({ length: 200 }, (_, i) => i + 1), ...Array.from({ length: 100 }, (_, i) => i + 301)])
      expect(echoes.filter((n) => n > 200 && n <= 300)).toEqual(Array.from({ length: 100 }, (_, i) => i + 201))
      expect(proxy.connections).toBe(2)
      // A frame larger than a relay's record crosses whole, both ways.
      const sent = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251)
      client.send({ id: 2, data: sent })
      await waitFor(() => big !== null)
      expect(Buffer.compare(big!, sent)).toBe(0)
      // The session is a's, as before, carried over b; b holds no session of its own.
      expect(a.session(sessionId)?.state).toBe('active')
      expect(b.connectionCount).toBe(0)
      expect(disconnects).toEqual([])

      // The relaying node stops: to a the client is gone again, and it resumes once more, straight to a this time.
      proxy.target = ports[0]!
      await b.stop()
      for (let n = 401; n <= 500; n++) ping(n)
      await waitFor(() => echoes.length === 500, { timeout: 5_000 })
      expect(echoes.slice(400)).toEqual(Array.from({ length: 100 }, (_, i) => i + 401))
      expect(proxy.connections).toBe(3)

      // The client leaves: the session ends on a, once.
      await client.close()
      await waitFor(() => disconnects.length === 1)
      expect(disconnects).toEqual(['a client-closed'])
      expect(a.session(sessionId)).toBeUndefined()
    } finally {
      await proxy.close()
    }
  })

  it('over WebSocket too: the relayed session is still a WebSocket session, with the upgrade request the relaying node had', async () => {
    const echo = (server: Server) => void server.onMessage((session, message) => void session.send(message))
    const { nodes, addresses } = await clusters.start(2, {}, echo, { resume: { grace: 5_000 } }, { port: 0, webSocket: { port: 0 } })
    const [a] = nodes as [Server, Server]
    const portOf = (address: Address) => Number(new URL(address.webSocket!.url).port)
    const opened = sessionsOf(a)
    const proxy = await CutProxy.open(portOf(addresses[0]!))
    try {
      const client = await connectWebSocket({ url: `ws://127.0.0.1:${proxy.port}/?player=7`, WebSocket, heartbeatInterval: 0, resume: { minDelay: 10, maxDelay: 50 } })
      client.send({ id: 1, data: Uint8Array.of(1) })
      const sessionId = await opened
      await client.receive()
      proxy.target = portOf(addresses[1]!)
      proxy.cut()
      client.send({ id: 1, data: Uint8Array.of(2) })
      expect(Array.from((await client.receive()).data)).toEqual([2])
      expect(proxy.connections).toBe(2)
      const session = a.session(sessionId)!
      expect(session.transport).toBe('websocket')
      expect(session.request?.url).toBe('/?player=7')
      expect(session.request?.headers.host).toBe(`127.0.0.1:${proxy.port}`)
      await client.close()
    } finally {
      await proxy.close()
    }
  })

  it('a relayed client: cut by the relaying node when it reads too slowly (its session waits on its node), and closed when its session\'s node stops', async () => {
    const echo = (server: Server) => void server.onMessage((session, message) => void session.send(message))
    const { nodes, ports } = await clusters.start(2, {}, echo, { resume: { grace: 5_000 }, maxBufferedBytes: 256 * 1024 })
    const [a, b] = nodes as [Server, Server]
    /** A client of node a whose connection was lost and came back through b. */
    const relayed = async (proxy: CutProxy) => {
      const opened = sessionsOf(a)
      const client = await connect({ port: proxy.port, heartbeatInterval: 0, resume: { minDelay: 10, maxDelay: 50 } })
      clients.push(client)
      // Its first frame opens the session; the echo comes after its resume token.
      client.send({ id: 1, data: new Uint8Array(1) })
      const sessionId = await opened
      await client.receive()
      proxy.target = ports[1]!
      proxy.cut()
      await waitFor(() => proxy.connections === 2 && client.status === 'open' && a.session(sessionId)?.state === 'active')
      return { client, sessionId }
    }
    const slow = await CutProxy.open(ports[0]!)
    const stopped = await CutProxy.open(ports[0]!)
    try {
      const { sessionId } = await relayed(slow)
      // The client stops reading: what a sends piles up on b, which cuts the client at maxBufferedBytes.
      slow.freeze()
      const chunk = { id: 3, data: new Uint8Array(50_000) }
      for (let i = 0; i < 2_000 && a.session(sessionId)?.state === 'active'; i++) {
        a.session(sessionId)!.send(chunk)
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
      await waitFor(() => a.session(sessionId)?.state === 'detached')

      const { client } = await relayed(stopped)
      await a.stop()
      expect(await client.closed).toBe('server-stopping')
      expect(b.connectionCount).toBe(0)
    } finally {
      await slow.close()
      await stopped.close()
    }
  })

  it('a resume token that names another node but opens nothing there is refused through the relay, and leaves nothing behind', async () => {
    // The connections' actors, as the nodes' inspector sees them made.
    const sessions: string[] = []
    const inspect = (event: InspectionEvent) => {
      const { id } = event.actorRef as AnyActorRef
      if (event.type === '@xstate.actor' && id.startsWith('session:')) sessions.push(id)
    }
    const { nodes, ports } = await clusters.start(2, {}, () => {}, { resume: { grace: 5_000 }, inspect })
    const [a, b] = nodes as [Server, Server]
    const token = Buffer.concat([tokenPrefix('a'), randomBytes(TOKEN_BYTES - 4)])
    const socket = createConnection({ host: '127.0.0.1', port: ports[1]! })
    const decoder = new FrameDecoder(1 << 16)
    const frames: Message[] = []
    socket.on('data', (chunk) => decoder.push(chunk, frames))
    await new Promise((resolve) => socket.once('connect', resolve))
    const resume = resumeFrame(token, 0)
    socket.write(encodeFrame(resume.id, resume.data))
    await new Promise((resolve) => socket.once('close', resolve))
    expect(frames.map((frame) => [frame.id, goodbyeReason(frame.data)])).toEqual([[RESUME_CONTROL_IDS.GOODBYE, 'resume-refused']])
    // Two: the connection on b, which handed its bytes on, and the one they made on a, which refused them.
    expect(sessions).toHaveLength(2)
    expect(a.connectionCount).toBe(0)
    expect(b.connectionCount).toBe(0)
  })

  it('npm start -- --cluster --node: the CLI joins as that node and says so', async () => {
    const cli = spawnCli(['--port', '0', '--cluster', NATS, '--node', 'cli-node'])
    try {
      const [, nats] = await cli.waitForLine(/^zerostate listening on .*, node cli-node of the cluster on (\S+)\)$/, 20_000)
      expect(nats).toBe(NATS)
    } finally {
      cli.child.kill('SIGTERM')
      await new Promise((resolve) => cli.child.once('exit', resolve))
    }
  })

  it('listen() rejects with a ListenError, and leaves no connection behind, when NATS has no JetStream', async () => {
    const nats = await PrivateNats.start({ jetStream: false })
    try {
      const server = createServer({ cluster: { nats: nats.url, name: 'no-jetstream' } })
      clusters.servers.push(server)
      const error = await server.listen({ port: 0 }).catch((rejection: unknown) => rejection)
      expect(error).toMatchObject({ code: 'not-listening' })
      expect((error as Error).message).toMatch(/^cannot join the cluster on NATS at nats:\/\/127\.0\.0\.1:\d+: /)
      expect(server.clusterState).toBeNull()
    } finally {
      await nats.stop()
    }
  })

  it('listen() rejects with a ListenError, binding nothing, when NATS cannot be reached', async () => {
    const server = createServer({ cluster: { nats: 'nats://127.0.0.1:1', name: 'unreachable' } })
    // Nothing was created on any NATS: there is nothing to destroy.
    clusters.servers.push(server)
    await expect(server.listen({ port: 0 })).rejects.toMatchObject({ code: 'not-listening' })
  })
})

describe('a cluster in the timeline', () => {
  it('--inspect-file records carry the node, and zerostate timeline merges the nodes\' logs, each actor under its node', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zerostate-timeline-'))
    try {
      const ids = ['a', 'b']
      const files = ids.map((id) => join(dir, `${id}.jsonl`))
      const name = `test-${randomBytes(4).toString("hex")}`
      clusters.names.push(name)
      const inspectors = await Promise.all(files.map((file, i) => openFileInspector(file, { node: ids[i] })))
      const nodes = ids.map((node, i) => createServer({ cluster: { nats: NATS, name, node }, inspect: inspectors[i]!.inspect }))
      clusters.servers.push(...nodes)
      const ports = []
      for (const node of nodes) ports.push((await node.listen({ port: 0 })).port)
      for (const port of ports) {
        const { client } = await player(port)
        await waitFor(() => nodes.some((node) => node.connectionCount === 1))
        await client.close()
      }
      await clusters.stop()
      await Promise.all(inspectors.map((inspector) => inspector.close()))
      const timeline = spawnCli(['timeline', ...files], undefined, [], { stream: 'stdout' })
      await new Promise((resolve) => timeline.child.once('exit', resolve))
      const sessions = timeline.lines.filter((line) => line.startsWith('session '))
      expect(sessions).toHaveLength(2)
      expect(sessions[0]).toMatch(/^session \S+ on node a tcp 127\.0\.0\.1:\d+$/)
      expect(sessions[1]).toMatch(/^session \S+ on node b tcp 127\.0\.0\.1:\d+$/)
      expect(timeline.lines.filter((line) => /closed \(client-closed\)$/.test(line))).toHaveLength(2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
