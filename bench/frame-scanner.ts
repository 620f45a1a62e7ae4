import { HEADER_SIZE } from '../src/protocol/message.js'

/**
 * The load generator's decoder: counts the frames in a byte stream without copying or checking
 * them, so the generator spends its core sending, not verifying (the servers verify). Only the
 * 8 header bytes are ever copied, and only when a read splits them.
 */
export class FrameScanner {
  /** Heartbeat frames (id 0) seen so far. */
  heartbeats = 0
  /** Bytes of the current frame still to skip after its header; 0 while reading a header. */
  private remaining = 0
  private currentId = 0
  private readonly header = Buffer.alloc(HEADER_SIZE)
  private headerFill = 0

  /** Returns how many data frames (id ≠ 0) `chunk` completes. Throws on a size below 8. */
  push(chunk: Buffer): number {
    const length = chunk.length
    let offset = 0
    let frames = 0
    while (offset < length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, length - offset)
        this.remaining -= take
        offset += take
        if (this.remaining > 0) break
        if (this.currentId === 0) this.heartbeats++
        else frames++
        continue
      }
      let size: number
      if (this.headerFill === 0 && length - offset >= HEADER_SIZE) {
        size = chunk.readInt32LE(offset)
        this.currentId = chunk.readInt32LE(offset + 4)
        offset += HEADER_SIZE
      } else {
        const take = Math.min(HEADER_SIZE - this.headerFill, length - offset)
        chunk.copy(this.header, this.headerFill, offset, offset + take)
        this.headerFill += take
        offset += take
        if (this.headerFill < HEADER_SIZE) break
        this.headerFill = 0
        size = this.header.readInt32LE(0)
        this.currentId = this.header.readInt32LE(4)
      }
      if (size < 8) throw new Error(`server sent a frame with size ${size}`)
      // The size field counts id (already read), payload and checksum.
      this.remaining = size - 4
    }
    return frames
  }
}
