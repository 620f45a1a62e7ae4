/**
 * What one node sends another, batched: every record posted to a node in one event-loop turn
 * travels in one NATS message, in the order posted, so many frames going the same way cost one
 * publish (and the receiver one callback), and a room's sends and its replies to a node keep their
 * order. A batch is the sender's id (a length byte, then ASCII) and then records:
 * kind (1 byte), head length (2 bytes) and head (UTF-8), body length (4 bytes) and body.
 */
export const RECORD = Object.freeze({
  /** A frame for one session: head, the session id; body, the encoded frame. */
  UNICAST: 1,
  /** A player's frame for the room that owns it: head, `<session id> <room id>`; body, the frame's id (4 bytes) and data. */
  PLAYER: 2,
  /** The rooms' requests, replies and notices: head empty, body a JSON object. */
  CONTROL: 3,
  /** One frame for several sessions (a room's broadcast to its players on that node): head, their ids, space-separated; body, the frame. */
  MULTICAST: 4,
  /** A connection relayed between nodes for a resume (src/cluster/tunnels.ts): head, `<tunnel id> <op>[ <arg>]`; body, bytes. */
  TUNNEL: 5,
})

export type RecordKind = (typeof RECORD)[keyof typeof RECORD]

/** A batch is sent early once it holds this much (or NATS's payload limit, if that is smaller). */
const FLUSH_AT = 256 * 1024
const FIRST_SIZE = 16 * 1024

interface Batch {
  buffer: Buffer
  length: number
}

/**
 * The last frame posted to a node for a session, not written yet (null: none): the same frame for
 * more sessions of that node joins it. One per node, reused, so a unicast allocates nothing here.
 */
interface Shared {
  frame: Uint8Array | null
  readonly sessions: string[]
  /** The bytes of the head the sessions make, space-separated. */
  headBytes: number
}

export class NodeOutbox {
  private readonly batches = new Map<string, Batch>()
  private readonly shared = new Map<string, Shared>()
  private scheduled = false
  private readonly flushAt: number
  /** The largest record a batch can carry: one NATS message, less the batch's own header. */
  private readonly maxRecord: number

  constructor(
    private readonly from: string,
    private readonly publish: (node: string, data: Uint8Array) => void,
    /** The most bytes NATS takes in one message (the server's `max_payload`). */
    maxMessage = 1024 * 1024,
  ) {
    this.flushAt = Math.min(FLUSH_AT, maxMessage)
    this.maxRecord = maxMessage - 1 - from.length
  }

  /**
   * Posts a record; false, and nothing posted, if it is too large for one NATS message (a frame
   * that large cannot cross nodes). A frame posted for several sessions of one node in a row (the
   * same buffer, as a room's broadcast queues it) travels once, as one MULTICAST record; so a
   * frame's buffer must not change once posted, as for a session's queue.
   */
  add(node: string, kind: RecordKind, head: string, body: Uint8Array): boolean {
    const headBytes = Buffer.byteLength(head)
    if (7 + headBytes + body.length > this.maxRecord) return false
    let open = this.shared.get(node)
    if (kind !== RECORD.UNICAST) {
      if (open !== undefined) this.writeShared(node, open)
      this.write(node, kind, head, headBytes, body)
      return true
    }
    const joined = open === undefined ? 0 : open.headBytes + 1 + headBytes
    if (open?.frame === body && joined <= 0xffff && 7 + joined + body.length <= this.maxRecord && !head.includes(' ')) {
      open.sessions.push(head)
      open.headBytes = joined
      return true
    }
    if (open === undefined) this.shared.set(node, (open = { frame: null, sessions: [], headBytes: 0 }))
    else this.writeShared(node, open)
    // The batch is made now, so that batches go out in the order their nodes were first posted to.
    if (!this.batches.has(node)) this.batches.set(node, this.start(FIRST_SIZE))
    open.frame = body
    open.sessions.push(head)
    open.headBytes = headBytes
    this.schedule()
    return true
  }

  private writeShared(node: string, open: Shared): void {
    const { frame, sessions } = open
    if (frame === null) return
    open.frame = null
    if (sessions.length === 1) this.write(node, RECORD.UNICAST, sessions[0]!, open.headBytes, frame)
    else this.write(node, RECORD.MULTICAST, sessions.join(' '), open.headBytes, frame)
    sessions.length = 0
  }

  /** Writes a record into the node's batch; `headBytes` is `head`'s UTF-8 length, which the caller has measured. */
  private write(node: string, kind: RecordKind, head: string, headBytes: number, body: Uint8Array): void {
    if (headBytes > 0xffff) throw new RangeError(`a record's head is ${headBytes} bytes, more than 65,535`)
    const size = 7 + headBytes + body.length
    let batch = this.batches.get(node)
    if (batch !== undefined && batch.length + size > this.flushAt && batch.length > 1 + this.from.length) {
      this.send(node, batch)
      batch = undefined
    }
    if (batch === undefined) {
      batch = this.start(Math.max(FIRST_SIZE, size + 1 + this.from.length))
      this.batches.set(node, batch)
    } else if (batch.length + size > batch.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(batch.buffer.length * 2, batch.length + size))
      batch.buffer.copy(grown, 0, 0, batch.length)
      batch.buffer = grown
    }
    const { buffer } = batch
    let at = batch.length
    buffer[at++] = kind
    buffer.writeUInt16BE(headBytes, at)
    at += 2
    at += buffer.write(head, at)
    buffer.writeUInt32BE(body.length, at)
    at += 4
    buffer.set(body, at)
    batch.length = at + body.length
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(this.flush)
  }

  /** Sends every batch now (the node is leaving: what it posted still goes). */
  readonly flush = (): void => {
    this.scheduled = false
    for (const [node, open] of this.shared) this.writeShared(node, open)
    for (const [node, batch] of this.batches) this.send(node, batch)
  }

  private start(capacity: number): Batch {
    const buffer = Buffer.allocUnsafe(capacity)
    buffer[0] = this.from.length
    buffer.write(this.from, 1, 'latin1')
    return { buffer, length: 1 + this.from.length }
  }

  /** The batch's buffer goes to NATS, which may hold it until its own flush: a new batch gets a new one. */
  private send(node: string, batch: Batch): void {
    this.batches.delete(node)
    this.publish(node, batch.buffer.subarray(0, batch.length))
  }
}

/**
 * Calls `record` for each record of a batch, in order; stops at the first malformed one (a batch
 * comes from a node of the same cluster, so a malformed one is a bug, not an attack, but it must
 * not throw in NATS's callback).
 */
export function readRecords(data: Uint8Array, record: (from: string, kind: RecordKind, head: string, body: Buffer) => void): void {
  const batch = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (batch.length < 1) return
  const fromEnd = 1 + batch[0]!
  if (fromEnd > batch.length) return
  const from = batch.toString('latin1', 1, fromEnd)
  let at = fromEnd
  while (at + 7 <= batch.length) {
    const kind = batch[at]!
    const headEnd = at + 3 + batch.readUInt16BE(at + 1)
    if (headEnd + 4 > batch.length) return
    const bodyEnd = headEnd + 4 + batch.readUInt32BE(headEnd)
    if (bodyEnd > batch.length || kind < RECORD.UNICAST || kind > RECORD.TUNNEL) return
    record(from, kind as RecordKind, batch.toString('utf8', at + 3, headEnd), batch.subarray(headEnd + 4, bodyEnd))
    at = bodyEnd
  }
}
