// One node of a cluster: `NODE=a PORT=18787 npx tsx examples/cluster/node.ts`, and again with
// NODE=b PORT=18797. A frame sent to any node is broadcast to every session of every node; a frame
// of id 2 whose data begins with a session id (36 characters) goes to that session alone, on
// whichever node holds it.
import { createServer } from '../../src/index.js'

const server = createServer({
  cluster: { nats: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', name: process.env.CLUSTER_NAME ?? 'zerostate', node: process.env.NODE, heartbeat: Number(process.env.HEARTBEAT ?? 200) },
})
server.onConnect((session) => console.log(`session ${session.id}`))
server.onMessage((_session, message) => {
  if (message.id === 2) server.unicast(Buffer.from(message.data.subarray(0, 36)).toString(), message)
  else server.broadcast(message)
})
const { port } = await server.listen({ port: Number(process.env.PORT ?? 0) })
console.log(`node ${server.node} on ${port}`)
process.once('SIGTERM', () => void server.stop().then(() => process.exit(0)))
