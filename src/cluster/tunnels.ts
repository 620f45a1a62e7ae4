import { TRANSPORT_CLOSE_REASONS } from '../../machines/closeReason.js'
import type { CloseReason } from '../errors.js'
import type { Transport, TransportCloseReason, TransportKind, TransportSink, UpgradeRequest } from '../transport/transport.js'
import { fnv1a } from './fnv1a.js'
import { RECORD } from './nodeOutbox.js'

/** Where a cluster's resume token says it was made: its first bytes are this of the node's id. */
export const TOKEN_NODE_BYTES = 4

/** The first bytes of every resume token `node` makes (FNV-1a of its id): any node can tell whose a token is. */
export function tokenPrefix(node: string): Buffer {
  const prefix = Buffer.allocUnsafe(TOKEN_NODE_BYTES)
  prefix.writeUInt32BE(fnv1a(node))
  return prefix
}

/** What the tunnels need of the cluster's link (src/cluster/natsCluster.ts). */
export interface TunnelLink {
  readonly node: string
  liveNodes(): string[]
  post(node: string, kind: typeof RECORD.TUNNEL, head: string, body: Uint8Array): boolean
}

/** What the tunnels need of the server. */
export interface TunnelHost {
  /** A connection arrives as though a listener had accepted it. */
  arrive(open: (sink: TransportSink) => Transport): void
  /** Bytes a relayed connection may hold unsent before its client is cut off as a slow consumer. */
  readonly maxBufferedBytes: number
}

/** A connection that presented another node's resume token, handing over its transport and every byte it read. */
export interface Arrival {
  handOff(sink: TransportSink): { pipe: Transport; read: Buffer[] }
}

const EMPTY = Buffer.alloc(0)
/** A connection's bytes cross in records of at most this much, well inside one NATS message. */
const CHUNK = 64 * 1024
const CLOSE_REASONS: ReadonlySet<string> = new Set(TRANSPORT_CLOSE_REASONS)

/**
 * Resumes across nodes. A client whose connection was lost may come back through another node
 * than the one that holds its session (a load balancer may pick any). Its resume token says which
 * node made it, and the node it reached relays the connection's bytes, both ways, to that node:
 * there the connection arrives as though its own listener had accepted it, and resumes the
 * session as any resume does. Nothing of the session moves, so nothing of it is lost.
 *
 * TUNNEL records (src/cluster/nodeOutbox.ts) carry it, in the batches between the two nodes and so
 * in order: head `<tunnel id> <op>[ <arg>]`, the id the relaying node's. From the relaying node:
 * `open <kind> <remote address>` with the WebSocket upgrade request (a length, 4 bytes, then
 * JSON; length 0 over TCP) and the bytes read so far, `in` with more, `closed <reason>`.
 * From the session's node: `out` with bytes for the client, `pause`, `resume`, `end <reason>` and
 * `destroy <reason>`. A node that dies takes its tunnels with it: the other end sees a reset.
 */
export class Tunnels {
  private next = 1
  /** On the node the client reached: the connections it relays, by tunnel id. */
  private readonly relays = new Map<string, Relay>()
  /** On the session's node: the relayed connections' transports, by `<relaying node> <tunnel id>`. */
  private readonly remote = new Map<string, TunnelTransport>()
  private readonly prefixes = new Map<string, string>()

  constructor(
    private readonly link: TunnelLink,
    private readonly host: TunnelHost,
  ) {}

  get maxBufferedBytes(): number {
    return this.host.maxBufferedBytes
  }

  /**
   * The token opens no session here: if another live node made it, the connection is relayed
   * there and true returned; false, and the caller refuses it.
   */
  open(arrival: Arrival, token: Uint8Array): boolean {
    const node = this.nodeOf(token)
    if (node === undefined) return false
    const id = String(this.next++)
    const relay = new Relay(this, node, id)
    const { pipe, read } = arrival.handOff(relay)
    relay.pipe = pipe
    this.relays.set(id, relay)
    const bytes = Buffer.concat(read)
    const request = pipe.request === null ? EMPTY : Buffer.from(JSON.stringify(pipe.request))
    const length = Buffer.allocUnsafe(4)
    length.writeUInt32BE(request.length)
    const opening = Buffer.concat([length, request, bytes.subarray(0, CHUNK)])
    const sent = this.post(node, `${id} open ${pipe.kind} ${pipe.remoteAddress}`, opening) && (bytes.length <= CHUNK || this.post(node, `${id} in`, bytes.subarray(CHUNK)))
    if (!sent) relay.cut('reset')
    return true
  }

  /** The live node, not this one, whose tokens start as this one does. */
  private nodeOf(token: Uint8Array): string | undefined {
    if (token.length < TOKEN_NODE_BYTES) return undefined
    const key = Buffer.from(token.buffer, token.byteOffset, TOKEN_NODE_BYTES).toString('hex')
    for (const node of this.link.liveNodes()) {
      if (node === this.link.node) continue
      let prefix = this.prefixes.get(node)
      if (prefix === undefined) this.prefixes.set(node, (prefix = tokenPrefix(node).toString('hex')))
      if (prefix === key) return node
    }
    return undefined
  }

  /** A TUNNEL record, or several for bytes past one chunk. */
  post(node: string, head: string, body: Uint8Array): boolean {
    if (body.length <= CHUNK) return this.link.post(node, RECORD.TUNNEL, head, body)
    for (let at = 0; at < body.length; at += CHUNK) if (!this.link.post(node, RECORD.TUNNEL, head, body.subarray(at, at + CHUNK))) return false
    return true
  }

  /** A TUNNEL record from `from`. */
  received(from: string, head: string, body: Buffer): void {
    const [id = '', op = '', ...rest] = head.split(' ')
    const arg = rest.join(' ')
    if (op === 'open' || op === 'in' || op === 'closed') {
      const key = `${from} ${id}`
      if (op === 'open') return this.arrived(from, id, arg, body)
      const transport = this.remote.get(key)
      if (transport === undefined) return
      if (op === 'in') transport.sink.onData(body)
      else transport.peerClosed(CLOSE_REASONS.has(arg) ? (arg as TransportCloseReason) : 'reset')
      return
    }
    const relay = this.relays.get(id)
    if (relay?.node === from) relay.heard(op, arg, body)
  }

  /** A relayed connection, on the session's node: it arrives here, and its first bytes (the resume) are read. */
  private arrived(from: string, id: string, arg: string, body: Buffer): void {
    const space = arg.indexOf(' ')
    const kind: TransportKind = arg.slice(0, space) === 'websocket' ? 'websocket' : 'tcp'
    if (body.length < 4) return
    const requestEnd = 4 + body.readUInt32BE(0)
    if (requestEnd > body.length) return
    let request: UpgradeRequest | null = null
    if (requestEnd > 4) {
      try {
        request = JSON.parse(body.toString('utf8', 4, requestEnd)) as UpgradeRequest
      } catch {
        return
      }
    }
    const bytes = body.subarray(requestEnd)
    let transport: TunnelTransport | undefined
    this.host.arrive((sink) => {
      transport = new TunnelTransport(this, from, id, kind, arg.slice(space + 1), request, sink)
      this.remote.set(`${from} ${id}`, transport)
      return transport
    })
    if (bytes.length > 0) transport?.sink.onData(bytes)
  }

  forget(relay: Relay): void {
    this.relays.delete(relay.id)
  }

  forgetRemote(node: string, id: string): void {
    this.remote.delete(`${node} ${id}`)
  }

  /** A node died or left: the connections relayed to it are cut, and those it relayed here are lost. */
  nodeLost(node: string): void {
    for (const relay of [...this.relays.values()]) if (relay.node === node) relay.cut('reset')
    for (const transport of [...this.remote.values()]) if (transport.node === node) transport.peerClosed('reset')
  }

  /** This node is stopping: every connection it relays is closed; the sessions' nodes hear a client that went away. */
  close(): void {
    for (const relay of [...this.relays.values()]) relay.cut('reset', 'server-stopping')
  }
}

/** On the node the client reached: its connection, relayed to the session's node. */
class Relay implements TransportSink {
  pipe: Transport | null = null
  /** The session's node has been told the connection is gone, or has ended it. */
  private done = false

  constructor(
    private readonly tunnels: Tunnels,
    readonly node: string,
    readonly id: string,
  ) {}

  onData(chunk: Buffer): void {
    if (!this.tunnels.post(this.node, `${this.id} in`, chunk)) this.cut('reset')
  }

  onDrain(): void {}

  onPeerClose(reason: TransportCloseReason): void {
    this.pipe = null
    this.gone(reason)
  }

  /** What the session's node says of the connection. */
  heard(op: string, arg: string, body: Buffer): void {
    const pipe = this.pipe
    if (pipe === null) return
    switch (op) {
      case 'out':
        pipe.write(body)
        // The client reads too slowly: what the session's node sends must not pile up here.
        if (pipe.writableLength > this.tunnels.maxBufferedBytes) this.cut('reset', 'slow-consumer')
        return
      case 'pause':
        pipe.pause()
        return
      case 'resume':
        pipe.resume()
        return
      case 'end':
      case 'destroy':
        this.done = true
        this.pipe = null
        this.tunnels.forget(this)
        if (op === 'end') pipe.end(arg as CloseReason)
        else pipe.destroy(arg as CloseReason)
    }
  }

  /** Closes the client's connection (`reason`, where the transport can say it) and tells the session's node it is gone. */
  cut(told: TransportCloseReason, reason: CloseReason = 'internal-error'): void {
    const pipe = this.pipe
    this.pipe = null
    this.gone(told)
    pipe?.destroy(reason)
  }

  private gone(reason: TransportCloseReason): void {
    if (this.done) return
    this.done = true
    this.tunnels.forget(this)
    this.tunnels.post(this.node, `${this.id} closed ${reason}`, EMPTY)
  }
}

/** On the session's node: a connection whose bytes another node relays. */
class TunnelTransport implements Transport {
  readonly writableLength = 0
  private closed = false

  constructor(
    private readonly tunnels: Tunnels,
    readonly node: string,
    private readonly id: string,
    readonly kind: TransportKind,
    readonly remoteAddress: string,
    /** The client's WebSocket upgrade request, as the relaying node had it; null over TCP. */
    readonly request: UpgradeRequest | null,
    public sink: TransportSink,
  ) {}

  write(data: Buffer | Buffer[]): boolean {
    if (this.closed) return true
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data
    if (!this.tunnels.post(this.node, `${this.id} out`, bytes)) this.lost()
    return true
  }

  pause(): void {
    this.tell('pause')
  }

  resume(): void {
    this.tell('resume')
  }

  end(reason: CloseReason): void {
    this.finish(`end ${reason}`)
  }

  destroy(reason: CloseReason): void {
    this.finish(`destroy ${reason}`)
  }

  rebind(sink: TransportSink): void {
    this.sink = sink
  }

  /** The client's connection is gone (the relaying node says so, or died). */
  peerClosed(reason: TransportCloseReason): void {
    if (this.closed) return
    this.closed = true
    this.tunnels.forgetRemote(this.node, this.id)
    this.sink.onPeerClose(reason)
  }

  private tell(op: string): void {
    if (!this.closed && !this.tunnels.post(this.node, `${this.id} ${op}`, EMPTY)) this.lost()
  }

  private finish(op: string): void {
    if (this.closed) return
    this.closed = true
    this.tunnels.forgetRemote(this.node, this.id)
    this.tunnels.post(this.node, `${this.id} ${op}`, EMPTY)
  }

  /** NATS or the relaying node is unreachable: the connection is as good as reset (after the write that found it, not inside it). */
  private lost(): void {
    queueMicrotask(() => this.peerClosed('reset'))
  }
}
