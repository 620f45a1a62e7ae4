/**
 * What the TCP model runs need besides the server: a raw `node:net` peer that answers nothing (so
 * silence is silence), and a log of every actor's snapshots from the server's `inspect` stream.
 */
import { connect as connectSocket, type Socket } from 'node:net'
import type { AnyMachineSnapshot, EventObject, InspectionEvent } from 'xstate'
import { FrameDecoder } from '../../src/protocol/decoder.js'
import { encodeFrame } from '../../src/protocol/encoder.js'
import type { Message } from '../../src/protocol/message.js'

/** A peer that writes exactly the bytes it is told to and records everything it receives. */
export class RawPeer {
  /** How the connection ended as seen from here: the server's FIN, an error (RST), or our own doing. */
  ending: 'server-fin' | 'error' | 'client' | null = null
  closed = false
  private readonly chunks: Buffer[] = []

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk))
    socket.on('end', () => (this.ending ??= 'server-fin'))
    socket.on('error', () => (this.ending ??= 'error'))
    socket.on('close', () => (this.closed = true))
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connectSocket({ host: '127.0.0.1', port, noDelay: true })
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new RawPeer(socket))
      })
    })
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** A clean close: FIN. */
  end(): void {
    this.ending ??= 'client'
    this.socket.end()
  }

  /** An abrupt close: RST, as a crashing peer. */
  reset(): void {
    this.ending ??= 'client'
    this.socket.resetAndDestroy()
  }

  destroy(): void {
    this.socket.destroy()
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks)
  }

  /** The frames received so far, decoded. */
  frames(): Message[] {
    const frames: Message[] = []
    const error = new FrameDecoder(1 << 20).push(this.received, frames)
    if (error !== null) throw error
    return frames
  }
}

/** A frame as a zero client would send it. */
export function frame(id: number, text: string): Buffer {
  return encodeFrame(id, Buffer.from(text))
}

/** Bytes that close a connection with that protocol error. */
export function badFrame(reason: 'frame-too-small' | 'frame-too-large' | 'bad-checksum'): Buffer {
  if (reason === 'bad-checksum') {
    const bytes = frame(1, 'corrupted')
    bytes[bytes.length - 1]! ^= 0xff
    return bytes
  }
  // The size field alone decides: 4 (< 8) or 0x7fffffff (far above maxPayload).
  const size = Buffer.alloc(4)
  size.writeInt32LE(reason === 'frame-too-small' ? 4 : 0x7fffffff, 0)
  return size
}

export interface ActorRecord {
  event: EventObject
  snapshot: AnyMachineSnapshot
  /** Whether the event took a transition; false when the machine ignored it. */
  took: boolean
}

/** Every `@xstate.snapshot` of every actor, by actor id (`supervisor`, `gameLogic`, `session:<id>`). */
export class ActorLog {
  private readonly records = new Map<string, ActorRecord[]>()
  /** Actors whose current macrostep has taken a transition so far. */
  private readonly taking = new Set<string>()

  readonly observe = (event: InspectionEvent): void => {
    const id = (event.actorRef as { id?: string }).id ?? '?'
    if (event.type === '@xstate.microstep' && event._transitions.length > 0) this.taking.add(id)
    if (event.type !== '@xstate.snapshot') return
    let list = this.records.get(id)
    if (list === undefined) this.records.set(id, (list = []))
    list.push({ event: event.event, snapshot: event.snapshot as AnyMachineSnapshot, took: this.taking.delete(id) })
  }

  /** Every snapshot of the actor, one per event it processed. */
  of(actorId: string): ActorRecord[] {
    return this.records.get(actorId) ?? []
  }

  /** The actor's initial snapshot and then only the events that took a transition. */
  transitionsOf(actorId: string): ActorRecord[] {
    return this.of(actorId).filter((record, i) => i === 0 || record.took)
  }

  ids(): string[] {
    return [...this.records.keys()]
  }
}

/** Events and states of an actor's log, one line each, for failure messages. */
export function showLog(records: readonly ActorRecord[]): string {
  return records.map((record, i) => `  ${i}: ${record.event.type} → ${JSON.stringify(record.snapshot.value)}${record.took || i === 0 ? '' : ' (ignored)'}`).join('\n')
}
