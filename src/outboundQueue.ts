import { frameLength, writeFrame } from './protocol/encoder.js'

/**
 * Below this, frames are encoded (or copied) into one shared buffer; 2 KiB still comes from
 * Node's buffer pool, so a tick's worth of small frames costs one cheap slice and no copy later.
 */
const OPEN_SIZE = 2048
/** A tick's first buffer: most ticks carry one small frame, and a smaller slice lasts the pool longer. */
const FIRST_SIZE = 256
/** Pre-encoded frames above this are queued by reference: a big broadcast is never copied per session. */
const COPY_LIMIT = 512

/**
 * What one session will write at the end of this tick. Small frames are encoded in place, back to
 * back, so the tick ends in a single write of one buffer, as a hand-written echo server would do;
 * larger ones join the list and go out in one corked (vectored) write.
 */
export class OutboundQueue {
  /** Bytes queued. */
  bytes = 0
  /** A shared frame queued alone, by reference: a broadcast to an idle session allocates nothing for it. */
  private lone: Buffer | null = null
  private open: Buffer | null = null
  private openLength = 0
  private sealed: Buffer[] | null = null

  encode(id: number, data: Uint8Array): void {
    if (this.lone !== null) this.unlone()
    const length = frameLength(data.length)
    if (length > OPEN_SIZE) {
      const frame = Buffer.allocUnsafe(length)
      writeFrame(frame, 0, id, data)
      this.seal(frame)
    } else {
      this.openLength = writeFrame(this.room(length), this.openLength, id, data)
    }
    this.bytes += length
  }

  /** Queues a frame that is already encoded; it must not change until written. */
  append(frame: Buffer): void {
    // Alone in the queue (a broadcast to an idle session, a heartbeat), it is written as it is:
    // a broadcast to 10k sessions then allocates nothing per session.
    if (this.bytes === 0) {
      this.lone = frame
      this.bytes = frame.length
      return
    }
    if (this.lone !== null) this.unlone()
    if (frame.length > COPY_LIMIT) {
      this.seal(frame)
    } else {
      const open = this.room(frame.length)
      this.openLength += frame.copy(open, this.openLength)
    }
    this.bytes += frame.length
  }

  /** Everything queued, in order, as one buffer or a list; the queue is empty afterwards. */
  take(): Buffer | Buffer[] {
    const lone = this.lone
    if (lone !== null) {
      this.lone = null
      this.bytes = 0
      return lone
    }
    let taken: Buffer | Buffer[]
    if (this.sealed === null) {
      taken = this.open!.subarray(0, this.openLength)
    } else {
      if (this.openLength > 0) this.sealed.push(this.open!.subarray(0, this.openLength))
      taken = this.sealed.length === 1 ? this.sealed[0]! : this.sealed
    }
    this.open = null
    this.openLength = 0
    this.sealed = null
    this.bytes = 0
    return taken
  }

  /** Something follows the lone frame: a large one stays by reference, a small one joins the open buffer. */
  private unlone(): void {
    const frame = this.lone!
    this.lone = null
    if (frame.length > COPY_LIMIT) this.seal(frame)
    else this.openLength += frame.copy(this.room(frame.length), this.openLength)
  }

  /** The open buffer, with room for `length` more bytes. */
  private room(length: number): Buffer {
    const open = this.open
    if (open === null) {
      this.open = Buffer.allocUnsafe(Math.max(length, FIRST_SIZE))
      return this.open
    }
    const needed = this.openLength + length
    if (needed <= open.length) return open
    if (needed <= OPEN_SIZE) {
      // Still small: grow by copying what is there, so the tick stays a single buffer.
      const grown = Buffer.allocUnsafe(OPEN_SIZE)
      open.copy(grown, 0, 0, this.openLength)
      this.open = grown
      return grown
    }
    if (this.openLength > 0) (this.sealed ??= []).push(open.subarray(0, this.openLength))
    this.open = Buffer.allocUnsafe(Math.max(length, OPEN_SIZE))
    this.openLength = 0
    return this.open
  }

  private seal(frame: Buffer): void {
    if (this.openLength > 0) {
      ;(this.sealed ??= []).push(this.open!.subarray(0, this.openLength))
      this.open = null
      this.openLength = 0
    }
    ;(this.sealed ??= []).push(frame)
  }
}
