/**
 * The cluster bench's server child: zerostate through its public API, default options, a node of
 * a cluster or standalone as the first call (`listen`) says. One game for every scenario, by
 * frame id (bench/clusterMessages.ts): echo, unicast to the session the payload names, and a hello
 * that tells the bench a receiver's session id. Standalone and clustered nodes run the same
 * handler, so the local echo compares membership alone.
 */
import { createServer, type Server } from '../src/index.js'
import { epochNow, sleep } from './clock.js'
import { BROADCAST_ID, type ClusterServerCalls, ECHO_ID, HELLO_ID, SESSION_ID_BYTES, UNICAST_ID } from './clusterMessages.js'
import { serveRpc } from './rpc.js'

let server: Server | null = null
/** Hello tag → session id. */
const tagged = new Map<string, string>()

function cpuMs(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

async function until(what: string, timeoutMs: number, done: () => boolean): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`${what} after ${timeoutMs} ms`)
    await sleep(5)
  }
}

serveRpc<ClusterServerCalls>({
  listen: async ({ cluster }) => {
    const created = createServer(cluster === null ? {} : { cluster })
    server = created
    created.onMessage((session, message) => {
      switch (message.id) {
        case ECHO_ID:
          session.send(message)
          return
        case UNICAST_ID: {
          const data = message.data
          created.unicast(Buffer.from(data.buffer, data.byteOffset, SESSION_ID_BYTES).toString('latin1'), message)
          return
        }
        case HELLO_ID:
          tagged.set(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.length).toString('latin1'), session.id)
      }
    })
    const { port } = await created.listen({ host: '127.0.0.1', port: 0 })
    return { port, node: created.node }
  },
  cpu: () => ({ cpuMs: cpuMs(), at: epochNow() }),
  sessions: () => server?.connectionCount ?? 0,
  ids: async ({ tags, timeoutMs }) => {
    await until(`only ${tags.filter((tag) => tagged.has(tag)).length} of ${tags.length} hellos`, timeoutMs, () => tags.every((tag) => tagged.has(tag)))
    return tags.map((tag) => tagged.get(tag)!)
  },
  located: async ({ ids, node, timeoutMs }) => {
    const where = server!
    await until(`the directory does not place all ${ids.length} sessions on ${node}`, timeoutMs, () => ids.every((id) => where.locate(id) === node))
    return undefined
  },
  broadcast: ({ size }) => {
    const data = new Uint8Array(size).fill(0x42)
    const cpu = cpuMs()
    const at = epochNow()
    const reached = server!.broadcast({ id: BROADCAST_ID, data })
    return { at, cpuMs: cpu, reached }
  },
  stop: async () => {
    await server?.stop()
    setTimeout(() => process.exit(0), 50)
    return undefined
  },
})
