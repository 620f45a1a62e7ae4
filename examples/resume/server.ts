// An echo game whose players may lose their connection: a session waits 30 s for its client to
// come back. `npx tsx examples/resume/server.ts`, then `npx tsx examples/resume/client.ts`.
import { createServer } from '../../src/index.js'

const server = createServer({ resume: { grace: 30_000 } })
server.onMessage((session, message) => void session.send(message))
server.onDisconnect((session, error) => console.log(`${session.id} ended: ${error.code}`))
const address = await server.listen({ port: Number(process.env.PORT ?? 18787) })
console.log(`resumable echo on ${address.host}:${address.port}`)
process.once('SIGTERM', () => void server.stop())
