/**
 * The cluster bench's unicast loads (bench/cluster.ts), over raw node:net sockets: pairs of a
 * sender on one node and a receiver on the same node or another. Every frame a sender sends names
 * its receiver's session id, and the sender's node passes it on with `server.unicast`. Both ends
 * of a pair are sockets of this one process, so a frame's trip is timed on one clock: nothing is
 * compared across processes, and no echo adds a second hop to the one measured.
 */
import { randomBytes } from 'node:crypto'
import type net from 'node:net'
import { FrameDecoder } from '../src/protocol/decoder.js'
import { encodeFrame, frameLength, HEARTBEAT_FRAME } from '../src/protocol/encoder.js'
import type { Message } from '../src/protocol/message.js'
import { HELLO_ID, SESSION_ID_BYTES, UNICAST_ID } from './clusterMessages.js'
import { FrameScanner } from './frame-scanner.js'
import { CloseTracker, openSocket, resetSocket } from './load/sockets.js'

const PAYLOAD_SIZE = 64
/** Where a latency frame carries its send time (performance.now(), f64 LE), after the target's id. */
const SENT_AT = SESSION_ID_BYTES

export interface PairsSetup {
  senderPort: number
  receiverPort: number
  pairs: number
  /** The receivers' session ids, asked of their node by the tags of their hello frames. */
  idsOf(tags: string[]): Promise<string[]>
  /** Resolves once the senders' node can place every receiver (its directory has them). */
  reachable(ids: string[]): Promise<void>
}

/** A 64-byte unicast payload for `target`: its id, then zeros (a latency frame writes its send time after the id). */
function payloadFor(target: string): Buffer {
  const payload = Buffer.alloc(PAYLOAD_SIZE)
  payload.write(target, 0, SESSION_ID_BYTES, 'latin1')
  return payload
}

function connected(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve()
    })
  })
}

/** Open pairs: each receiver has said hello and is known to the senders' node; each sender is connected. */
abstract class UnicastPairs {
  readonly tracker = new CloseTracker()
  protected readonly senders: net.Socket[] = []
  protected readonly receivers: net.Socket[] = []
  protected ids: string[] = []

  protected async open(setup: PairsSetup, onReceiverData: (pair: number, socket: net.Socket) => (chunk: Buffer) => void): Promise<void> {
    const nonce = randomBytes(4).toString('hex')
    const tags = Array.from({ length: setup.pairs }, (_, i) => `${nonce}-${i}`)
    const opening: Promise<void>[] = []
    for (const [pair, tag] of tags.entries()) {
      const socket = openSocket(setup.receiverPort)
      this.receivers.push(socket)
      this.tracker.watch(socket)
      socket.on('data', onReceiverData(pair, socket))
      opening.push(connected(socket).then(() => void socket.write(encodeFrame(HELLO_ID, Buffer.from(tag, 'latin1')))))
    }
    await Promise.all(opening)
    this.ids = await setup.idsOf(tags)
    await setup.reachable(this.ids)
    for (let pair = 0; pair < setup.pairs; pair++) {
      const socket = openSocket(setup.senderPort)
      const scanner = new FrameScanner()
      this.senders.push(socket)
      this.tracker.watch(socket)
      // Nothing comes back to a sender but heartbeats, which the server sends a socket it writes nothing else to.
      socket.on('data', (chunk: Buffer) => {
        const heartbeats = scanner.heartbeats
        scanner.push(chunk)
        if (scanner.heartbeats !== heartbeats) socket.write(HEARTBEAT_FRAME)
      })
      opening.push(connected(socket))
    }
    await Promise.all(opening)
  }

  close(): void {
    this.tracker.closing = true
    for (const socket of [...this.senders, ...this.receivers]) resetSocket(socket)
  }
}

/**
 * Open loop: `rate` frames per second over all pairs, in turn, whatever comes back, each stamped
 * with its send time; a receiver records now minus that, while `recording`.
 */
export class UnicastLatencyLoad extends UnicastPairs {
  recording = false
  private samples = new Float64Array(1 << 14)
  private count = 0
  private timer: NodeJS.Timeout | undefined

  static async start(setup: PairsSetup, rate: number): Promise<UnicastLatencyLoad> {
    const load = new UnicastLatencyLoad()
    try {
      await load.open(setup, (_pair, socket) => load.receiver(socket))
    } catch (error) {
      load.close()
      throw error
    }
    const payloads = load.ids.map(payloadFor)
    const startedAt = performance.now()
    let sent = 0
    // A 1 ms timer sends what is due: about one frame a tick at 1,000/s, and the backlog if a tick was late.
    load.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - startedAt) * rate) / 1000)
      for (; sent < due; sent++) {
        const pair = sent % payloads.length
        const payload = payloads[pair]!
        payload.writeDoubleLE(performance.now(), SENT_AT)
        load.senders[pair]!.write(encodeFrame(UNICAST_ID, payload))
      }
    }, 1)
    return load
  }

  /** The one-way times recorded so far, in ms (a view: sorted by whoever reads it). */
  taken(): Float64Array {
    return this.samples.subarray(0, this.count)
  }

  override close(): void {
    clearInterval(this.timer)
    super.close()
  }

  private receiver(socket: net.Socket): (chunk: Buffer) => void {
    const decoder = new FrameDecoder(1 << 20)
    const out: Message[] = []
    return (chunk) => {
      const error = decoder.push(chunk, out)
      if (error) throw error
      const now = performance.now()
      for (const message of out) {
        if (message.id === 0) socket.write(HEARTBEAT_FRAME)
        else if (message.id === UNICAST_ID && this.recording) this.record(now - Buffer.from(message.data.buffer, message.data.byteOffset, PAYLOAD_SIZE).readDoubleLE(SENT_AT))
      }
      out.length = 0
    }
  }

  private record(ms: number): void {
    if (this.count === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2)
      grown.set(this.samples)
      this.samples = grown
    }
    this.samples[this.count++] = ms
  }
}

/**
 * Closed loop: each sender keeps `inFlight` frames on their way to its receiver, and sends one
 * more for each the receiver gets, from a precomputed burst (no encoding on the way).
 */
export class UnicastThroughputLoad extends UnicastPairs {
  /** Frames that reached their receivers so far. */
  received = 0

  static async start(setup: PairsSetup, inFlight: number): Promise<UnicastThroughputLoad> {
    const load = new UnicastThroughputLoad()
    const bursts: Buffer[] = []
    const frameBytes = frameLength(PAYLOAD_SIZE)
    try {
      await load.open(setup, (pair, socket) => {
        const scanner = new FrameScanner()
        return (chunk) => {
          const heartbeats = scanner.heartbeats
          const frames = scanner.push(chunk)
          if (frames > 0) {
            load.received += frames
            load.senders[pair]!.write(bursts[pair]!.subarray(0, frames * frameBytes))
          }
          if (scanner.heartbeats !== heartbeats) socket.write(HEARTBEAT_FRAME)
        }
      })
    } catch (error) {
      load.close()
      throw error
    }
    for (const id of load.ids) {
      const frame = encodeFrame(UNICAST_ID, payloadFor(id))
      bursts.push(Buffer.concat(Array.from({ length: inFlight }, () => frame)))
    }
    for (const [pair, burst] of bursts.entries()) load.senders[pair]!.write(burst)
    return load
  }
}
