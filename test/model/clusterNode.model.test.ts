/**
 * The cluster node chart (machines/clusterNode.ts): every generated path replayed on the pure
 * machine with 100% coverage, and the same states on real nodes, whose `cluster:<node>` actors are
 * read from the inspection stream: test/cluster.test.ts partitions them by killing a private
 * nats-server and brings it back; here a real node on the shared NATS joins and leaves.
 */
import { randomBytes } from 'node:crypto'
import { Kvm } from '@nats-io/kv'
import { connect as connectNats } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { createActor } from 'xstate'
import { clusterNodeMachine } from '../../machines/clusterNode.js'
import { createServer } from '../../src/server.js'
import { Coverage, coverageLine } from './coverage.js'
import { describePath, edgeTour, modelEvents, simplePaths, unique } from './paths.js'
import { waitFor } from '../helpers/wait.js'

const model = { input: undefined, events: modelEvents(clusterNodeMachine) }
const paths = unique([...edgeTour(clusterNodeMachine, model), ...simplePaths(clusterNodeMachine, model)])

describe('cluster node machine: generated paths on the pure machine', () => {
  const coverage = new Coverage(clusterNodeMachine)
  it.each(paths.map((path) => [describePath(path), path] as const))('%s', (_, path) => {
    const actor = createActor(clusterNodeMachine, { inspect: coverage.observe })
    actor.start()
    for (const step of path.steps.slice(1)) actor.send(step.event)
    expect(actor.getSnapshot().value).toEqual(path.state.value)
    actor.stop()
  })

  it('covers every state and transition of the definition', () => {
    console.log(coverageLine(coverage.figures('clusterNode (pure)', paths.length)))
    expect(coverage.missing()).toBe('')
  })
})

describe('cluster node machine on a real node', () => {
  it('joins clustered and leaves through leaving to left when the server stops', async () => {
    const states: unknown[] = []
    const nats = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
    const name = `test-${randomBytes(4).toString('hex')}`
    const server = createServer({
      cluster: { nats, name, node: 'n' },
      inspect: (event) => {
        if (event.type === '@xstate.snapshot' && (event.actorRef as { id?: string }).id === 'cluster:n') states.push((event.snapshot as unknown as { value: unknown }).value)
      },
    })
    await server.listen({ port: 0 })
    expect(server.clusterState).toBe('clustered')
    await server.stop()
    await waitFor(() => server.clusterState === 'left')
    expect(states).toEqual(['clustered', 'leaving', 'left'])
    const nc = await connectNats({ servers: nats })
    const kvm = new Kvm(nc)
    for (const bucket of [`${name}-nodes`, `${name}-sessions`]) await (await kvm.open(bucket)).destroy()
    await nc.close()
  })
})
