/**
 * Clusters of in-process nodes on the real nats-server (127.0.0.1:4222, which .ci/run starts),
 * each with a name of its own so runs never meet, and its KV buckets destroyed at the end.
 */
import { randomBytes } from 'node:crypto'
import { Kvm } from '@nats-io/kv'
import { connect as connectNats } from '@nats-io/transport-node'
import { type Address, createServer, type ListenOptions, type Server, type ServerOptions } from '../../src/index.js'

export const NATS = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const BUCKETS = ['nodes', 'sessions', 'rooms', 'snapshots']

export class ClusterNodes {
  readonly servers: Server[] = []
  /** The clusters' names, in the order made. */
  readonly names: string[] = []

  /** A new cluster of `count` nodes a, b, c…, listening on ephemeral ports; `setup` defines each node's game. */
  async start(
    count: number,
    options: Partial<ServerOptions['cluster']> = {},
    setup: (server: Server) => void = () => {},
    serverOptions: Omit<ServerOptions, 'cluster'> = {},
    listen: ListenOptions & { port?: number } = { port: 0 },
  ): Promise<{ nodes: Server[]; ports: number[]; addresses: Address[]; name: string }> {
    const name = `test-${randomBytes(4).toString('hex')}`
    this.names.push(name)
    const nodes = Array.from({ length: count }, (_, i) =>
      createServer({ ...serverOptions, cluster: { nats: NATS, name, node: String.fromCharCode(97 + i), heartbeat: 200, ...options } }),
    )
    this.servers.push(...nodes)
    const ports: number[] = []
    const addresses: Address[] = []
    for (const node of nodes) {
      setup(node)
      const address = await node.listen(listen)
      addresses.push(address)
      ports.push(address.port)
    }
    return { nodes, ports, addresses, name }
  }

  /** Stops every node started since the last call. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((server) => server.stop()))
  }

  /** Destroys every cluster's buckets. */
  async destroy(): Promise<void> {
    const nc = await connectNats({ servers: NATS })
    const kvm = new Kvm(nc)
    for (const name of this.names) {
      for (const bucket of BUCKETS) {
        await kvm
          .open(`${name}-${bucket}`)
          .then((kv) => kv.destroy())
          .catch(() => {})
      }
    }
    await nc.close()
  }
}
