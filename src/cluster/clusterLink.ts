import type { ClusterNodeState } from '../../machines/clusterNode.js'

/**
 * What a server that is one node of a cluster needs from the cluster, and nothing more: the
 * single-process server holds no ClusterLink and pays nothing. src/cluster/natsCluster.ts is the
 * implementation, on NATS.
 */
export interface ClusterLink {
  /** This node's id. */
  readonly node: string
  /** The node's membership: clustered, partitioned (NATS unreachable), leaving, left. */
  readonly state: ClusterNodeState
  /** Sends a frame to a session on another live node; false if the directory knows of none, or NATS is unreachable. */
  unicast(sessionId: string, frame: Buffer): boolean
  /** Sends a frame to every other node, for its sessions; false if NATS is unreachable. */
  broadcast(frame: Buffer): boolean
  /** The node that holds the session, this one included, as the directory says. */
  locate(sessionId: string): string | undefined
  /** The sessions on live nodes whose user id is `userId`, this node's included. */
  findUser(userId: string): ClusterSession[]
  /** A session on this node opened, bound its user or closed: the directory learns it. */
  opened(sessionId: string): void
  userBound(sessionId: string, userId: string): void
  closed(sessionId: string): void
  /** Leaves the cluster: this node's directory entries go, then the connection. */
  close(): Promise<void>
}

/** A session as the cluster's directory knows it. */
export interface ClusterSession {
  readonly sessionId: string
  readonly node: string
}

/** What a node offers the cluster: its sessions, to deliver what other nodes send them. */
export interface ClusterHost {
  /** Queues a frame to the local session; false if there is none. */
  deliver(sessionId: string, frame: Buffer): boolean
  /** Queues a frame to every local session past its handshake; returns how many it reached. */
  deliverAll(frame: Buffer): number
  /** The ids of this node's sessions, for the directory. */
  localSessions(): Iterable<string>
}

export interface ClusterOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  nats: string | string[]
  /** This node's id, unique in the cluster. @default a random one */
  node?: string
  /** Nodes of one cluster share this name; several clusters may share one NATS. @default 'zerostate' */
  name?: string
  /** How often a node says it is alive; a node silent for three of these is dead, and its sessions leave the directory. @default 1_000 */
  heartbeat?: number
  /**
   * A room that changed is snapshotted into the cluster at most this often (ms), so that a node
   * that restores it after its owner died loses at most this much of its play. @default 100
   */
  snapshotInterval?: number
}
