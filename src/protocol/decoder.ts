import { ProtocolError } from '../errors.js'
import { frameChecksum } from './checksum.js'
import { type Allocate, concatBytes } from './concatBytes.js'
import { allocateBytes } from './bytePool.js'
import { readInt32LE, readUint32LE } from './littleEndian.js'
import { CHECKSUM_SIZE, HEADER_SIZE, type Message, SIZE_FIELD_OVERHEAD } from './message.js'

const SIZE_FIELD = 4

/**
 * Streaming decoder of zero frames. Frames may be split across chunks at any byte, and one chunk
 * may hold many frames; both decode the same.
 *
 * A frame that lies wholly inside one chunk is handed out as a view into that chunk (no copy);
 * only a frame that spans chunks is copied, once, when its last byte arrives. The size field is
 * checked as soon as its 4 bytes are here, so a hostile size costs nothing: bytes of an oversized
 * frame are never buffered.
 *
 * It works on plain Uint8Arrays (a Buffer is one), so the server, the TCP client and the browser
 * client share it; payload views are `subarray`s of the chunk, so a Buffer chunk gives Buffer views.
 */
export class FrameDecoder {
  readonly maxPayload: number
  /** Bytes of an incomplete frame, in arrival order; null until a frame spans chunks (most sessions never have one). */
  private pending: Uint8Array[] | null = null
  private pendingBytes = 0
  /** Size field of the incomplete frame, or -1 while fewer than 4 of its bytes are here. */
  private pendingSize = -1

  /** @param allocate where a frame that spans chunks is joined (the server passes its own: serverSession.ts). */
  constructor(
    maxPayload: number,
    private readonly allocate: Allocate = allocateBytes,
  ) {
    this.maxPayload = maxPayload
  }

  /** Bytes held for a frame that is not complete yet. */
  get bufferedBytes(): number {
    return this.pendingBytes
  }

  /**
   * Appends every frame completed by `chunk` to `out`, in order. Returns the error of the first
   * invalid frame (frames before it are still appended); the decoder must not be used after that.
   */
  push(chunk: Uint8Array, out: Message[]): ProtocolError | null {
    if (this.pendingBytes > 0) {
      if (this.pendingSize < 0) {
        // Fewer than 4 bytes were held: joining them to the new chunk is a small copy, and rare.
        chunk = concatBytes([this.pending![0]!, chunk], this.pendingBytes + chunk.length, this.allocate)
        this.reset()
      } else {
        const pending = this.pending!
        pending.push(chunk)
        this.pendingBytes += chunk.length
        if (this.pendingBytes < SIZE_FIELD + this.pendingSize) return null
        chunk = concatBytes(pending, this.pendingBytes, this.allocate)
        this.reset()
      }
    }
    return this.parse(chunk, out)
  }

  private parse(chunk: Uint8Array, out: Message[]): ProtocolError | null {
    const length = chunk.length
    let offset = 0
    while (length - offset >= SIZE_FIELD) {
      const size = readInt32LE(chunk, offset)
      const error = this.check(size)
      if (error) return error
      const end = offset + SIZE_FIELD + size
      if (end > length) {
        this.pendingSize = size
        break
      }
      const payloadEnd = end - CHECKSUM_SIZE
      const data = chunk.subarray(offset + HEADER_SIZE, payloadEnd)
      const expected = readUint32LE(chunk, payloadEnd)
      const actual = frameChecksum(chunk, offset + SIZE_FIELD, data)
      if (expected !== actual) {
        return new ProtocolError(
          'bad-checksum',
          `expected 0x${hex(expected)}, computed 0x${hex(actual)}`,
        )
      }
      out.push({ id: readInt32LE(chunk, offset + SIZE_FIELD), data })
      offset = end
    }
    if (offset < length) {
      this.pending = [offset === 0 ? chunk : chunk.subarray(offset)]
      this.pendingBytes = length - offset
    }
    return null
  }

  private check(size: number): ProtocolError | null {
    if (size < SIZE_FIELD_OVERHEAD) {
      return new ProtocolError('frame-too-small', `size field ${size} is below ${SIZE_FIELD_OVERHEAD}`)
    }
    if (size - SIZE_FIELD_OVERHEAD > this.maxPayload) {
      return new ProtocolError(
        'frame-too-large',
        `payload of ${size - SIZE_FIELD_OVERHEAD} bytes exceeds maxPayload ${this.maxPayload}`,
      )
    }
    return null
  }

  private reset(): void {
    this.pending = null
    this.pendingBytes = 0
    this.pendingSize = -1
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0')
}
