/**
 * Rooms across the nodes of a cluster, on the real nats-server: a room lives on one node and its
 * players on any; their frames reach it in order and its sends reach them; cluster-wide matching
 * never overfills a room and places new rooms on the least loaded node (1,000 joins at once over
 * three node processes: test/cluster.processes.test.ts); a room's owner killed with SIGKILL mid-game is restored on a surviving
 * node from its last snapshot, losing at most what it heard in the last snapshot interval.
 */
import { readFileSync } from 'node:fs'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { emit, setup } from 'xstate'
import { broadcast, type RoomEmitted, type RoomEvent, type RoomInput } from '../machines/index.js'
import { BUMP, TALLY, tallyOf, tallyRoom } from '../examples/cluster/tallyRoom.js'
import { type Client, connect } from '../src/client.js'
import type { Server } from '../src/index.js'
import type { Message } from '../src/protocol/message.js'
import { ROOM_CONTROL_IDS } from '../src/rooms/roomControl.js'
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

const json = (body: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(body))
const parse = (message: Message): Record<string, unknown> => JSON.parse(new TextDecoder().decode(message.data)) as Record<string, unknown>
const withTally = (maxPlayers: number) => (server: Server) => server.room('tally', { machine: tallyRoom, maxPlayers })

/** The ids of the node's sessions, in the order they connected. */
function sessionsOf(server: Server): string[] {
  const ids: string[] = []
  server.onConnect((session) => void ids.push(session.id))
  return ids
}

/** A client that keeps what it gets: JOINED's room id, the tallies, the control frames. */
interface Player {
  client: Client
  roomId: Promise<string>
  tallies: number[]
  control: Record<string, unknown>[]
}

async function player(port: number): Promise<Player> {
  const client = await connect({ port, heartbeatInterval: 0 })
  clients.push(client)
  const tallies: number[] = []
  const control: Record<string, unknown>[] = []
  let joined: (roomId: string) => void = () => {}
  const roomId = new Promise<string>((resolve) => (joined = resolve))
  client.onMessage((message) => {
    if (message.id === TALLY) tallies.push(tallyOf(message.data))
    else if (message.id <= ROOM_CONTROL_IDS.JOIN && message.id >= ROOM_CONTROL_IDS.REFUSED) {
      const body = parse(message)
      control.push({ id: message.id, ...body })
      if (message.id === ROOM_CONTROL_IDS.JOINED) joined(String(body.roomId))
    }
  })
  return { client, roomId, tallies, control }
}

function join(p: Player, body: Record<string, unknown> = { name: 'tally' }): Promise<string> {
  p.client.send({ id: ROOM_CONTROL_IDS.JOIN, data: json(body) })
  return p.roomId
}

const bump = (p: Player) => p.client.send({ id: BUMP, data: new Uint8Array(0) })

/** A room that tells every player each event it hears about players, as text in a HEARD frame. */
const HEARD = 9
const hearingRoom = setup({ types: { events: {} as RoomEvent, input: {} as RoomInput, emitted: {} as RoomEmitted } }).createMachine({
  on: {
    '*': { actions: emit(({ event }) => broadcast({ id: HEARD, data: new TextEncoder().encode(event.type) })) },
  },
})

describe('rooms across a cluster', () => {
  it('a room on one node, players on others: their frames reach it in order, its broadcasts reach them all', async () => {
    const { nodes, ports } = await clusters.start(3, {}, withTally(3))
    const [a, b, c] = nodes as [Server, Server, Server]
    const onC = sessionsOf(c)
    const first = await player(ports[0]!)
    const roomId = await join(first)
    expect(a.rooms.list().map((room) => room.id)).toEqual([roomId])
    await waitFor(() => b.rooms.directory('tally').length === 1 && c.rooms.directory('tally').length === 1)
    const second = await player(ports[1]!)
    const third = await player(ports[2]!)
    expect(await join(second)).toBe(roomId)
    expect(await join(third)).toBe(roomId)
    expect(a.rooms.get(roomId)).toMatchObject({ node: 'a' })
    expect(a.rooms.get(roomId)!.players).toHaveLength(3)
    expect(b.rooms.list()).toEqual([])
    await waitFor(() => b.rooms.directory()[0]?.players.length === 3)
    expect(b.rooms.directory()[0]).toMatchObject({ id: roomId, node: 'a', maxPlayers: 3, locked: true })

    // 300 bumps from each of the two remote players, interleaved: every player sees 600 tallies, 1..600, in order.
    for (let i = 0; i < 300; i++) {
      bump(second)
      bump(third)
    }
    const all = Array.from({ length: 600 }, (_, i) => i + 1)
    for (const p of [first, second, third]) await waitFor(() => p.tallies.length >= 600, { timeout: 10_000 })
    for (const p of [first, second, third]) expect(p.tallies).toEqual(all)

    // A full room is refused to a fourth player, wherever it asks; the room says nothing to it.
    const fourth = await player(ports[1]!)
    const otherRoom = await join(fourth)
    expect(otherRoom).not.toBe(roomId)

    // Leaving through the control protocol: the owner says LEFT, the room hears it, the directory shows it.
    second.client.send({ id: ROOM_CONTROL_IDS.LEAVE, data: json({ roomId }) })
    await waitFor(() => second.control.some((body) => body.id === ROOM_CONTROL_IDS.LEFT))
    expect(second.control.find((body) => body.id === ROOM_CONTROL_IDS.LEFT)).toMatchObject({ roomId, reason: 'left' })
    await waitFor(() => a.rooms.get(roomId)?.players.length === 2)
    expect(c.rooms.of(c.session(onC[0]!)!).map((room) => room.id)).toEqual([roomId])

    // A remote player's disconnect reaches the room as its close reason.
    third.client.reset()
    await waitFor(() => a.rooms.get(roomId)?.players.length === 1)
    bump(first)
    await waitFor(() => first.tallies.length === 601)
  })

  it('a room\'s broadcast to several players of another node travels once to that node, and reaches each of them in order', async () => {
    const { nodes, ports } = await clusters.start(2, {}, withTally(3))
    const host = await player(ports[0]!)
    const roomId = await join(host)
    await waitFor(() => nodes[1]!.rooms.directory('tally').length === 1)
    const [first, second] = [await player(ports[1]!), await player(ports[1]!)]
    expect(await join(first)).toBe(roomId)
    expect(await join(second)).toBe(roomId)
    for (let i = 0; i < 200; i++) bump(i % 2 === 0 ? first : host)
    const all = Array.from({ length: 200 }, (_, i) => i + 1)
    for (const p of [host, first, second]) await waitFor(() => p.tallies.length >= 200, { timeout: 10_000 })
    for (const p of [host, first, second]) expect(p.tallies).toEqual(all)

    // A frame too large for one NATS message does not cross to the room; the next one does, and no node breaks.
    first.client.send({ id: BUMP, data: new Uint8Array(1024 * 1024 - 16) })
    bump(first)
    for (const p of [host, first, second]) await waitFor(() => p.tallies.length === 201)
    expect(first.tallies.at(-1)).toBe(201)
  })

  it('matchmake() and joinById() from a handler seat a session in another node\'s room; a bad id is refused', async () => {
    const { nodes, ports } = await clusters.start(2, {}, withTally(4))
    const [a, b] = nodes as [Server, Server]
    const opener = await player(ports[0]!)
    const roomId = await join(opener)
    await waitFor(() => b.rooms.directory().length === 1)
    const seated: string[] = []
    const refused: string[] = []
    b.onMessage(async (session, message) => {
      if (message.id === 7) seated.push((await b.rooms.matchmake(session, 'tally')).id)
      if (message.id === 8) seated.push((await b.rooms.joinById(session, roomId)).id)
      if (message.id === 9) await b.rooms.joinById(session, 'no-such-room').catch((error: { code: string }) => refused.push(error.code))
    })
    const viaMatch = await player(ports[1]!)
    viaMatch.client.send({ id: 7, data: new Uint8Array(0) })
    const viaId = await player(ports[1]!)
    viaId.client.send({ id: 8, data: new Uint8Array(0) })
    // Its own client: a seated player's frames go to its room, not to onMessage.
    const lost = await player(ports[1]!)
    lost.client.send({ id: 9, data: new Uint8Array(0) })
    await waitFor(() => seated.length === 2 && refused.length === 1)
    expect(seated).toEqual([roomId, roomId])
    expect(refused).toEqual(['room-not-found'])
    expect(a.rooms.get(roomId)!.players).toHaveLength(3)
    bump(viaId)
    for (const p of [opener, viaMatch, viaId]) await waitFor(() => p.tallies.includes(1))
  })

  // The player's node is b, the room's a; when its connection is lost, it comes back through b, or through a (relayed to b).
  it.each([
    ['its own node', 1],
    ['another node', 0],
  ])('a remote player whose connection is lost comes back through %s and keeps its seat: the room hears player.dropped, then player.resumed', async (_through, backTo) => {
    const { nodes, ports } = await clusters.start(2, {}, (server) => server.room('hearing', { machine: hearingRoom, maxPlayers: 2 }), { resume: { grace: 5_000 } })
    const owner = await player(ports[0]!)
    const roomId = await join(owner, { name: 'hearing' })
    await waitFor(() => nodes[1]!.rooms.directory('hearing').length === 1)
    const proxy = await CutProxy.open(ports[1]!)
    try {
      const client = await connect({ port: proxy.port, heartbeatInterval: 0, resume: { minDelay: 10, maxDelay: 50 } })
      clients.push(client)
      const heardByPlayer: string[] = []
      const joined = new Promise<Message>((resolve) =>
        client.onMessage((message) => {
          if (message.id === ROOM_CONTROL_IDS.JOINED) resolve(message)
          else if (message.id === HEARD) heardByPlayer.push(new TextDecoder().decode(message.data))
        }),
      )
      client.send({ id: ROOM_CONTROL_IDS.JOIN, data: json({ name: 'hearing' }) })
      expect(parse(await joined).roomId).toBe(roomId)
      const heard: string[] = []
      owner.client.onMessage((message) => message.id === HEARD && heard.push(new TextDecoder().decode(message.data)))
      proxy.target = ports[backTo]!
      proxy.cut()
      await waitFor(() => heard.includes('player.dropped') && heard.includes('player.resumed'), { timeout: 5_000 })
      expect(heard.filter((event) => event !== 'player.joined')).toEqual(['player.dropped', 'player.resumed'])
      expect(client.status).toBe('open')
      // Its frames still reach the room, which answers it.
      client.send({ id: 5, data: new Uint8Array(0) })
      await waitFor(() => heard.includes('player.message') && heardByPlayer.includes('player.message'))
      expect(proxy.connections).toBe(2)
    } finally {
      await proxy.close()
    }
  })

  it('NATS stopped and restarted under play: no crash, the room plays on for its node\'s players, and its other players are back once the cluster heals', async () => {
    const nats = await PrivateNats.start()
    const beat: NodeJS.Timeout[] = []
    try {
      const { nodes, ports } = await clusters.start(2, { nats: nats.url }, withTally(4))
      const [a, b] = nodes as [Server, Server]
      const local = await player(ports[0]!)
      const roomId = await join(local)
      await waitFor(() => b.rooms.directory().length === 1)
      const remote = await player(ports[1]!)
      expect(await join(remote)).toBe(roomId)
      beat.push(setInterval(() => (bump(local), bump(remote)), 5))
      await waitFor(() => local.tallies.length >= 50)

      await nats.kill()
      await waitFor(() => a.clusterState === 'partitioned' && b.clusterState === 'partitioned')
      const atPartition = local.tallies.length
      await waitFor(() => local.tallies.length >= atPartition + 100, { message: 'the room plays on for its own node\'s player' })
      expect(local.tallies).toEqual(Array.from({ length: local.tallies.length }, (_, i) => i + 1))

      await nats.restart()
      await waitFor(() => a.clusterState === 'clustered' && b.clusterState === 'clustered', { timeout: 10_000 })
      const atHeal = remote.tallies.length
      await waitFor(() => remote.tallies.length >= atHeal + 50, { timeout: 5_000, message: 'the other node\'s player gets tallies again' })
      expect(a.rooms.get(roomId)!.players).toHaveLength(2)
      expect(remote.control.filter((body) => body.id === ROOM_CONTROL_IDS.LEFT)).toEqual([])
    } finally {
      for (const timer of beat) clearInterval(timer)
      await clusters.stop()
      await nats.stop()
    }
  }, 30_000)

  it('a node cut off from NATS alone is taken for dead: its room is restored elsewhere, and its own copy ends when it is back', async () => {
    const nats = await CutProxy.open(Number(new URL(NATS).port))
    try {
      const { nodes: [cutOff], ports: [cutPort], name } = await clusters.start(1, { nats: `nats://127.0.0.1:${nats.port}`, node: 'o' }, withTally(4))
      let idsOnB: string[] = []
      const { nodes: [b], ports: [bPort] } = await clusters.start(1, { name, node: 'b' }, (server) => {
        withTally(4)(server)
        idsOnB = sessionsOf(server)
      })
      const mine = await player(cutPort!)
      const roomId = await join(mine)
      await waitFor(() => b!.rooms.directory().length === 1)
      const other = await player(bPort!)
      expect(await join(other)).toBe(roomId)
      bump(other)
      await waitFor(() => other.tallies.includes(1) && mine.tallies.includes(1))
      await new Promise((resolve) => setTimeout(resolve, 300)) // a snapshot with both seats

      nats.blocking = true
      nats.cut()
      await waitFor(() => cutOff!.clusterState === 'partitioned')
      // b takes o for dead and restores the room; o's player is gone from it (node-lost), b's plays on.
      await waitFor(() => b!.rooms.list().length === 1, { timeout: 5_000 })
      expect(b!.rooms.get(roomId)!.players).toEqual(idsOnB)
      bump(other)
      await waitFor(() => other.tallies.includes(2))
      // Meanwhile o runs its own copy for its own player.
      expect(cutOff!.rooms.list().map((room) => room.id)).toEqual([roomId])

      nats.blocking = false
      await waitFor(() => cutOff!.clusterState === 'clustered', { timeout: 10_000 })
      await waitFor(() => cutOff!.rooms.list().length === 0, { timeout: 5_000, message: 'the stale copy ends' })
      await waitFor(() => mine.control.some((body) => body.id === ROOM_CONTROL_IDS.LEFT))
      expect(mine.control.find((body) => body.id === ROOM_CONTROL_IDS.LEFT)).toMatchObject({ roomId, reason: 'room-closed' })
      await waitFor(() => cutOff!.rooms.directory().length === 1)
      expect(cutOff!.rooms.directory()[0]).toMatchObject({ id: roomId, node: 'b' })
      bump(other)
      await waitFor(() => other.tallies.includes(3))
    } finally {
      await nats.close()
    }
  }, 30_000)

  it('a node too busy to beat (SIGSTOP) is taken for dead: its room goes on elsewhere, and once it runs again its copy ends and its sessions are back in the directory', async () => {
    const { nodes, name } = await clusters.start(1, {}, withTally(4))
    const [b] = nodes as [Server]
    const idsOnB = sessionsOf(b)
    const owner = spawnCli([], undefined, [], { script: 'examples/cluster/roomNode.ts', env: { NATS_URL: NATS, CLUSTER_NAME: name, NODE: 'busy' }, stream: 'stdout' })
    try {
      const [, port] = await owner.waitForLine(/^node busy on (\d+)$/, 20_000)
      const opened = owner.waitForLine(/^session (\S+)$/)
      const host = await player(Number(port))
      const [, hostSession] = await opened
      const roomId = await join(host)
      await waitFor(() => b.rooms.directory().length === 1 && b.locate(hostSession!) === 'busy')
      const other = await player(b.address!.port!)
      expect(await join(other)).toBe(roomId)
      bump(other)
      await waitFor(() => other.tallies.includes(1))
      await new Promise((resolve) => setTimeout(resolve, 300)) // a snapshot with both seats

      owner.child.kill('SIGSTOP')
      await waitFor(() => b.rooms.list().length === 1, { timeout: 5_000, message: 'b restores the room' })
      expect(b.locate(hostSession!)).toBeUndefined()
      expect(b.rooms.get(roomId)!.players).toEqual(idsOnB)
      owner.child.kill('SIGCONT')

      // Running again, the node sees its room claimed and ends its copy; its session goes back into the directory.
      await waitFor(() => host.control.some((body) => body.id === ROOM_CONTROL_IDS.LEFT), { timeout: 5_000 })
      expect(host.control.find((body) => body.id === ROOM_CONTROL_IDS.LEFT)).toMatchObject({ roomId, reason: 'room-closed' })
      await waitFor(() => b.locate(hostSession!) === 'busy', { timeout: 5_000 })
      expect(b.rooms.directory()).toMatchObject([{ id: roomId, node: b.node }])
      bump(other)
      await waitFor(() => other.tallies.includes(2))
    } finally {
      owner.child.kill('SIGCONT')
      owner.child.kill('SIGKILL')
    }
  }, 30_000)

  it('the README\'s three nodes on one machine: started as it says, a player of each plays in one tally room', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const section = readme.slice(readme.indexOf('## Scaling out'))
    const commands = [...section.slice(0, section.indexOf('\n## ', 3)).matchAll(/^NODE=(\w+) PORT=(\d+) npx tsx (\S+)$/gm)]
    expect(commands.map(([, node]) => node)).toEqual(['a', 'b', 'c'])
    const { name } = await clusters.start(0)
    // Ephemeral ports instead of the README's, so that a test never collides with a server running here.
    const children = commands.map(([, node, , script]) => spawnCli([], undefined, [], { script: script!, env: { NATS_URL: NATS, CLUSTER_NAME: name, NODE: node!, PORT: '0' }, stream: 'stdout' }))
    try {
      const ports = await Promise.all(children.map(async (child, i) => Number((await child.waitForLine(new RegExp(`^node ${commands[i]![1]} on (\\d+)$`), 20_000))[1])))
      const players = []
      for (const port of ports) {
        const p = await player(port)
        players.push(p)
        await join(p)
        // The next node's matching must see the room in its directory.
        await new Promise((resolve) => setTimeout(resolve, 300))
      }
      expect(new Set(await Promise.all(players.map((p) => p.roomId))).size).toBe(1)
      bump(players[2]!)
      for (const p of players) await waitFor(() => p.tallies.includes(1))
    } finally {
      for (const child of children) child.child.kill('SIGKILL')
    }
  }, 60_000)

  it('the owner stopped cleanly mid-game: its room moves to another node with nothing lost or reordered, and its players play on', async () => {
    const { nodes, ports } = await clusters.start(3, {}, withTally(4))
    const [a, b, c] = nodes as [Server, Server, Server]
    const idsOnB = sessionsOf(b)
    const idsOnC = sessionsOf(c)
    const host = await player(ports[0]!)
    const roomId = await join(host)
    await waitFor(() => b.rooms.directory().length === 1 && c.rooms.directory().length === 1)
    const onB = await player(ports[1]!)
    const onC = await player(ports[2]!)
    expect(await join(onB)).toBe(roomId)
    expect(await join(onC)).toBe(roomId)
    expect(a.rooms.get(roomId)?.node).toBe('a')

    // Both bump on a steady beat before, during and after the stop; every bump must count.
    let bumps = 0
    const beat = setInterval(() => {
      bump(onB)
      bump(onC)
      bumps += 2
    }, 2)
    try {
      await waitFor(() => (onB.tallies.at(-1) ?? 0) >= 100, { timeout: 10_000 })
      await a.stop()
      await waitFor(() => [b, c].some((node) => node.rooms.list().length === 1), { timeout: 5_000 })
      const tallyAtMove = onB.tallies.at(-1)!
      await waitFor(() => (onB.tallies.at(-1) ?? 0) >= tallyAtMove + 100, { timeout: 10_000 })
    } finally {
      clearInterval(beat)
    }
    const owner = [b, c].find((node) => node.rooms.list().length === 1)!
    await waitFor(() => onB.tallies.at(-1) === bumps && onC.tallies.at(-1) === bumps, { timeout: 5_000 })
    // Nothing lost, doubled or reordered: each player saw every tally once, in order, from the first it saw.
    for (const p of [onB, onC]) expect(p.tallies).toEqual(Array.from({ length: p.tallies.length }, (_, i) => p.tallies[0]! + i))
    expect(owner.rooms.get(roomId)).toMatchObject({ node: owner.node })
    expect([...owner.rooms.get(roomId)!.players].sort()).toEqual([idsOnB[0], idsOnC[0]].sort())
    await waitFor(() => b.rooms.directory().length === 1 && b.rooms.directory()[0]!.node === owner.node)
    // Nobody was told the room closed; the host, whose node stopped, was.
    for (const p of [onB, onC]) expect(p.control.filter((body) => body.id === ROOM_CONTROL_IDS.LEFT)).toEqual([])
  }, 30_000)

  it('the owner killed with SIGKILL mid-game: a surviving node restores the room from its snapshot, its players play on, and at most the last snapshot interval is lost', async () => {
    const SNAPSHOT_INTERVAL = 100
    const { nodes, ports, name } = await clusters.start(2, { snapshotInterval: SNAPSHOT_INTERVAL }, withTally(4))
    const [b, c] = nodes as [Server, Server]
    const idsOnB = sessionsOf(b)
    const idsOnC = sessionsOf(c)
    const owner = spawnCli([], undefined, [], {
      script: 'examples/cluster/roomNode.ts',
      env: { NATS_URL: NATS, CLUSTER_NAME: name, NODE: 'doomed', MAX_PLAYERS: '4', SNAPSHOT_INTERVAL: String(SNAPSHOT_INTERVAL) },
      stream: 'stdout',
    })
    try {
      const [, port] = await owner.waitForLine(/^node doomed on (\d+)$/, 20_000)
      const host = await player(Number(port))
      const roomId = await join(host)
      await waitFor(() => b.rooms.directory().length === 1 && c.rooms.directory().length === 1)
      expect(b.rooms.get(roomId)?.node, 'placed on the node of the player who opened it, the least loaded with the others').toBe('doomed')
      const onB = await player(ports[0]!)
      const onC = await player(ports[1]!)
      expect(await join(onB)).toBe(roomId)
      expect(await join(onC)).toBe(roomId)

      // Play: both bump on a steady beat; each tally they see is a step the owner took.
      const seen: { tally: number; at: number }[] = []
      const watcher = setInterval(() => {
        const tally = onB.tallies.at(-1)
        if (tally !== undefined && tally !== seen.at(-1)?.tally) seen.push({ tally, at: Date.now() })
      }, 1)
      const beat = setInterval(() => {
        bump(onB)
        bump(onC)
      }, 5)
      await waitFor(() => (onB.tallies.at(-1) ?? 0) >= 200, { timeout: 10_000 })
      owner.child.kill('SIGKILL')
      const killedAt = Date.now()
      clearInterval(beat)
      await new Promise((resolve) => setTimeout(resolve, 50))
      clearInterval(watcher)
      const lastBeforeKill = onB.tallies.at(-1)!

      // Restored on b or c within the dead-node bound (three 200 ms heartbeats, a beat, a margin).
      await waitFor(() => b.rooms.get(roomId)?.node !== 'doomed' && b.rooms.get(roomId) !== undefined && [b, c].some((node) => node.rooms.list().length === 1), { timeout: 5_000 })
      const restoredOn = [b, c].find((node) => node.rooms.list().length === 1)!
      const restored = restoredOn.rooms.get(roomId)!
      expect(Date.now() - killedAt).toBeLessThan(200 * 4 + 1_000)
      // The host's session died with its node: the room let it go, with node-lost.
      expect([...restored.players].sort()).toEqual([idsOnB[0], idsOnC[0]].sort())

      // Play on: the next tally both see follows the restored one.
      // A bump sent before c has heard where the room went is lost with what was in flight: bump until one lands.
      const before = onB.tallies.length
      const retry = setInterval(() => bump(onC), 50)
      try {
        await waitFor(() => onB.tallies.length > before && onC.tallies.includes(onB.tallies[before]!), { timeout: 5_000 })
      } finally {
        clearInterval(retry)
      }
      const resumedAt = onB.tallies[before]! - 1
      // Lost at most what the room heard in the last snapshot interval before it died (and the
      // time the snapshot took to write): the restored tally is one the room had reached by then.
      const bound = seen.filter(({ at }) => at <= killedAt - SNAPSHOT_INTERVAL - 100).at(-1)?.tally ?? 0
      expect(resumedAt).toBeGreaterThanOrEqual(bound)
      expect(resumedAt).toBeLessThanOrEqual(lastBeforeKill)
    } finally {
      owner.child.kill('SIGKILL')
    }
  }, 30_000)
})

