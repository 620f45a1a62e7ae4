/**
 * What a raw peer received, parsed with the tests' own frame parser (independent of src/,
 * checksums by the textbook Adler-32). The TCP and the WebSocket raw peers both extend it: the
 * bytes they are fed (a socket's reads, or binary messages one after another) are one stream.
 */
import type { Message } from '../../src/protocol/message.js'
import { adler32 } from './adler32.js'

/** A frame as the peer received it; one failing its checksum is recorded with `badChecksum`. */
export interface ReceivedFrame extends Message {
  /** The whole frame, size field and checksum included. */
  raw: Buffer
  badChecksum: boolean
}

export class ReceivedFrames {
  /** Every byte received, in order. */
  received: Buffer = Buffer.alloc(0)
  /** Frames parsed from `received`, in order. */
  readonly frames: ReceivedFrame[] = []
  /** A size field below 8 arrived: nothing after it can be parsed. */
  malformed = false
  private parsed = 0

  /** Appends received bytes and parses every frame they complete. */
  protected receive(chunk: Buffer): void {
    this.received = Buffer.concat([this.received, chunk])
    this.parse()
  }

  /** Everything received so far was well-formed frames with right checksums (a partial last frame aside). */
  get wellFormed(): boolean {
    return !this.malformed && this.frames.every((f) => !f.badChecksum)
  }

  /** Frames received that are not heartbeats. */
  get messages(): Message[] {
    return this.frames.filter((f) => f.id !== 0)
  }

  get heartbeats(): number {
    return this.frames.filter((f) => f.id === 0).length
  }

  private parse(): void {
    const buf = this.received
    while (buf.length - this.parsed >= 4) {
      const size = buf.readInt32LE(this.parsed)
      if (size < 8) this.malformed = true
      if (size < 8 || this.parsed + 4 + size > buf.length) return
      const start = this.parsed
      const end = start + 4 + size
      this.frames.push({
        id: buf.readInt32LE(start + 4),
        data: Buffer.from(buf.subarray(start + 8, end - 4)),
        raw: Buffer.from(buf.subarray(start, end)),
        badChecksum: buf.readUInt32LE(end - 4) !== adler32(buf.subarray(start + 4, end - 4)),
      })
      this.parsed = end
    }
  }
}
