import { setup } from 'xstate'

/**
 * One node's membership of its cluster, as NATS lets it be: `clustered` while the node reaches
 * NATS, `partitioned` while it does not (the client reconnects on its own; the node goes on
 * serving its own sessions and rooms, and its cross-node sends fail at once), `left` once it has
 * left for good. The NATS connection's status is injected as events, so the chart runs and is
 * path-tested without a network.
 */
export type ClusterNodeEvent =
  /** The NATS connection dropped; the client is trying to reconnect. */
  | { type: 'nats.disconnected' }
  | { type: 'nats.reconnected' }
  /** The node leaves the cluster (the server stops). */
  | { type: 'cluster.leave' }
  /** The NATS connection closed for good (the client gave up, or was closed). */
  | { type: 'nats.closed' }

export type ClusterNodeState = 'clustered' | 'partitioned' | 'leaving' | 'left'

export const clusterNodeMachine = setup({
  types: { events: {} as ClusterNodeEvent },
}).createMachine({
  id: 'clusterNode',
  initial: 'clustered',
  on: { 'nats.closed': '.left' },
  states: {
    clustered: {
      on: { 'nats.disconnected': 'partitioned', 'cluster.leave': 'leaving' },
    },
    partitioned: {
      on: { 'nats.reconnected': 'clustered', 'cluster.leave': 'leaving' },
    },
    /** This node's directory entries are being deleted, then the connection drained. */
    leaving: {},
    left: { type: 'final' },
  },
})

export type ClusterNodeMachine = typeof clusterNodeMachine
