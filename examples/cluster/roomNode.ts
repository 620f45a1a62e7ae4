// A node of a cluster with one room type: `NODE=a PORT=18787 npx tsx examples/cluster/roomNode.ts`,
// and again with NODE=b PORT=18797. A client that sends JOIN {"name":"tally"} is seated in an open
// tally room on any node, or a new one on the least loaded node; its BUMPs reach that room
// wherever it runs. Kill the room's node with SIGKILL: another node restores the room.
import { createServer } from '../../src/index.js'
import { tallyRoom } from './tallyRoom.js'

const server = createServer({
  cluster: { nats: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', name: process.env.CLUSTER_NAME ?? 'zerostate', node: process.env.NODE, heartbeat: Number(process.env.HEARTBEAT ?? 200), snapshotInterval: Number(process.env.SNAPSHOT_INTERVAL ?? 100) },
})
server.room('tally', { machine: tallyRoom, maxPlayers: Number(process.env.MAX_PLAYERS ?? 8) })
server.onConnect((session) => console.log(`session ${session.id}`))
const { port } = await server.listen({ port: Number(process.env.PORT ?? 0) })
console.log(`node ${server.node} on ${port}`)
process.once('SIGTERM', () => void server.stop().then(() => process.exit(0)))
