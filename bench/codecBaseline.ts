/**
 * The Buffer codec as it was before the codec became environment-neutral (commit 7db3d75:
 * readInt32LE, Buffer.concat, allocUnsafe), kept only so bench/codec.ts can measure the
 * Uint8Array codec against it in the same run. Not used by zerostate itself.
 */
import { ProtocolError } from '../src/errors.js'
import { frameChecksum } from '../src/protocol/checksum.js'
import { CHECKSUM_SIZE, HEADER_SIZE, type Message, SIZE_FIELD_OVERHEAD } from '../src/protocol/message.js'

const SIZE_FIELD = 4

export class BufferFrameDecoder {
  readonly maxPayload: number
  private pending: Buffer[] = []
  private pendingBytes = 0
  private pendingSize = -1

  constructor(maxPayload: number) {
    this.maxPayload = maxPayload
  }

  push(chunk: Buffer, out: Message[]): ProtocolError | null {
    if (this.pendingBytes > 0) {
      if (this.pendingSize < 0) {
        chunk = Buffer.concat([this.pending[0]!, chunk])
        this.reset()
      } else {
        this.pending.push(chunk)
        this.pendingBytes += chunk.length
        if (this.pendingBytes < SIZE_FIELD + this.pendingSize) return null
        chunk = Buffer.concat(this.pending, this.pendingBytes)
        this.reset()
      }
    }
    return this.parse(chunk, out)
  }

  private parse(chunk: Buffer, out: Message[]): ProtocolError | null {
    const length = chunk.length
    let offset = 0
    while (length - offset >= SIZE_FIELD) {
      const size = chunk.readInt32LE(offset)
      const error = this.check(size)
      if (error) return error
      const end = offset + SIZE_FIELD + size
      if (end > length) {
        this.pendingSize = size
        break
      }
      const payloadEnd = end - CHECKSUM_SIZE
      const data = chunk.subarray(offset + HEADER_SIZE, payloadEnd)
      const expected = chunk.readUInt32LE(payloadEnd)
      const actual = frameChecksum(chunk, offset + SIZE_FIELD, data)
      if (expected !== actual) return new ProtocolError('bad-checksum', `expected ${expected}, computed ${actual}`)
      out.push({ id: chunk.readInt32LE(offset + SIZE_FIELD), data })
      offset = end
    }
    if (offset < length) {
      this.pending.push(offset === 0 ? chunk : chunk.subarray(offset))
      this.pendingBytes = length - offset
    }
    return null
  }

  private check(size: number): ProtocolError | null {
    if (size < SIZE_FIELD_OVERHEAD) return new ProtocolError('frame-too-small', `size field ${size}`)
    if (size - SIZE_FIELD_OVERHEAD > this.maxPayload) return new ProtocolError('frame-too-large', `size field ${size}`)
    return null
  }

  private reset(): void {
    this.pending = []
    this.pendingBytes = 0
    this.pendingSize = -1
  }
}

export function writeFrameBuffer(target: Buffer, offset: number, id: number, data: Uint8Array): number {
  const n = data.length
  target.writeInt32LE(n + SIZE_FIELD_OVERHEAD, offset)
  target.writeInt32LE(id, offset + 4)
  target.set(data, offset + HEADER_SIZE)
  const end = offset + HEADER_SIZE + n
  target.writeUInt32LE(frameChecksum(target, offset + 4, data), end)
  return end + CHECKSUM_SIZE
}

export function encodeFrameBuffer(id: number, data: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + data.length + CHECKSUM_SIZE)
  writeFrameBuffer(frame, 0, id, data)
  return frame
}
