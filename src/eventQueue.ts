/**
 * FIFO of game events in three parallel ring arrays, so queueing a message allocates nothing
 * (an array of objects would cost one object per message, and `Array.shift` is O(n)).
 */
export class EventQueue<K, S, P> {
  private kinds: (K | undefined)[]
  private sessions: (S | undefined)[]
  private payloads: (P | undefined)[]
  private head = 0
  private count = 0

  constructor(capacity = 1024) {
    this.kinds = new Array(capacity)
    this.sessions = new Array(capacity)
    this.payloads = new Array(capacity)
  }

  get size(): number {
    return this.count
  }

  push(kind: K, session: S, payload: P): void {
    if (this.count === this.kinds.length) this.grow()
    const at = (this.head + this.count) % this.kinds.length
    this.kinds[at] = kind
    this.sessions[at] = session
    this.payloads[at] = payload
    this.count++
  }

  /** Removes the oldest event and passes it to `visit`; returns what `visit` returns. */
  shift<R>(visit: (kind: K, session: S, payload: P) => R): R {
    const at = this.head
    const kind = this.kinds[at] as K
    const session = this.sessions[at] as S
    const payload = this.payloads[at] as P
    // Drop the references so delivered payloads can be collected.
    this.sessions[at] = undefined
    this.payloads[at] = undefined
    this.head = (at + 1) % this.kinds.length
    this.count--
    return visit(kind, session, payload)
  }

  private grow(): void {
    const capacity = this.kinds.length * 2
    this.kinds = this.unroll(this.kinds, capacity)
    this.sessions = this.unroll(this.sessions, capacity)
    this.payloads = this.unroll(this.payloads, capacity)
    this.head = 0
  }

  private unroll<T>(ring: T[], capacity: number): T[] {
    const next = new Array<T>(capacity)
    for (let i = 0; i < this.count; i++) next[i] = ring[(this.head + i) % ring.length] as T
    return next
  }
}
