/**
 * The calls between the cluster bench (bench/cluster.ts) and its server children
 * (bench/cluster-server.ts), and the frame ids their game speaks. Times named `...At` are
 * epochNow() values, comparable across processes.
 */

/** Echoed to its sender: the local-echo load, and every idle session's first frame. */
export const ECHO_ID = 1
/** `server.unicast(target, frame)`, the target's session id being the payload's first 36 bytes. */
export const UNICAST_ID = 2
/** A receiver's first frame: its payload is a tag, by which the bench asks for the session's id. */
export const HELLO_ID = 3
/** What `broadcast` sends. */
export const BROADCAST_ID = 9
/** A session id: a UUID, 36 ASCII bytes (src/cluster/natsCluster.ts relies on it too). */
export const SESSION_ID_BYTES = 36

export interface ClusterNodeOptions {
  nats: string
  name: string
  node: string
  heartbeat: number
}

export type ClusterServerCalls = {
  /** Creates the server (a node of `cluster`, or standalone with null) and listens on a free port. */
  listen: { args: { cluster: ClusterNodeOptions | null }; result: { port: number; node: string } }
  /** The child's CPU time (process.cpuUsage, ms) and when it was read. */
  cpu: { args: undefined; result: { cpuMs: number; at: number } }
  /** Open sessions on this node. */
  sessions: { args: undefined; result: number }
  /** The ids of the sessions whose hello frames carried these tags, once all have arrived. */
  ids: { args: { tags: string[]; timeoutMs: number }; result: string[] }
  /** Resolves once this node's directory places every one of `ids` on `node`. */
  located: { args: { ids: string[]; node: string; timeoutMs: number }; result: undefined }
  /** `at`: just before `server.broadcast`; `cpuMs`: the child's CPU time then. */
  broadcast: { args: { size: number }; result: { at: number; cpuMs: number; reached: number } }
  stop: { args: undefined; result: undefined }
}
