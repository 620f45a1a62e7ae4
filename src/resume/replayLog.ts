/**
 * The frames one end of a resumable session sent, most recent last, within `capacity` as `weigh`
 * measures it: when the other end resumes saying how many frames it received, the frames after
 * those are sent again. The server keeps bytes (a broadcast's one buffer shared by every session's
 * log), the client a number of frames. The oldest go first when the weight would pass the capacity.
 */
export class ReplayLog<T> {
  /** Frames logged since the session opened. */
  sent = 0
  /** The weight held. */
  weight = 0
  private frames: T[] = []
  /** Index of the oldest frame held; frames before it were dropped. */
  private head = 0

  constructor(
    readonly capacity: number,
    private readonly weigh: (frame: T) => number,
  ) {}

  get length(): number {
    return this.frames.length - this.head
  }

  push(frame: T): void {
    this.frames.push(frame)
    this.weight += this.weigh(frame)
    this.sent++
    while (this.weight > this.capacity && this.head < this.frames.length) this.weight -= this.weigh(this.frames[this.head++]!)
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
  since(received: number): T[] | null {
    const missed = ((this.sent >>> 0) - (received >>> 0)) >>> 0
    if (missed > this.length) return null
    return this.frames.slice(this.frames.length - missed)
  }
}

/** A frame's weight in a log bounded by bytes. */
export function byteLength(frame: Uint8Array): number {
  return frame.length
}

/** A frame's weight in a log bounded by a number of frames. */
export function oneFrame(): number {
  return 1
}
