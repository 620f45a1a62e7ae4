/**
 * What a session with `resume` sent, most recent last, up to `capacity` bytes: when its client
 * resumes saying how many frames it received, the frames after those are sent again. Frames are
 * kept by reference (a broadcast's one buffer is shared by every session's log), and the oldest go
 * first when the bytes would pass the capacity.
 */
export class ReplayLog {
  /** Frames logged since the session opened. */
  sent = 0
  /** Bytes held. */
  bytes = 0
  private frames: Buffer[] = []
  /** Index of the oldest frame held; frames before it were dropped. */
  private head = 0

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.frames.length - this.head
  }

  push(frame: Buffer): void {
    this.frames.push(frame)
    this.bytes += frame.length
    this.sent++
    while (this.bytes > this.capacity && this.head < this.frames.length) this.bytes -= this.frames[this.head++]!.length
    // Compact once the dropped part is most of the array, so pushing stays O(1) amortized.
    if (this.head > 64 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head)
      this.head = 0
    }
  }

  /**
   * The frames after the first `received` (counted modulo 2^32, as the wire does), or null when
   * some of them are no longer held or `received` is more than was sent.
   */
  since(received: number): Buffer[] | null {
    const missed = ((this.sent >>> 0) - (received >>> 0)) >>> 0
    if (missed > this.length) return null
    return this.frames.slice(this.frames.length - missed)
  }
}
