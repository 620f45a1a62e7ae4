import { sleep } from '../clock.js'
import type { LoadShape, Percentiles, Window, WsTarget } from '../messages.js'
import { percentiles } from '../stats.js'
import { type PeerFactory, peerFactory, type WsPeer } from './ws-peers.js'
import { cpuMs } from './window.js'

/**
 * The WebSocket loads: the TCP ones' shapes (echo-load.ts, latency.ts, idle-pool.ts) over
 * {@link WsPeer}s, so that zerostate, the WebSocket ceiling and Colyseus get the same loads.
 */

/** Sessions of one load: which closed before the generator closed them. */
class PeerSet {
  readonly peers: WsPeer[] = []
  unexpected = 0
  closing = false

  /** Events for one more peer of this set; `echoes` is the load's. */
  events(echoes: (count: number) => void): { echoes(count: number): void; closed(): void } {
    return {
      echoes,
      closed: () => {
        if (!this.closing) this.unexpected++
      },
    }
  }

  /** Keeps an opened peer, or resets it at once if the set was closed while it opened. */
  add(peer: WsPeer): void {
    if (this.closing) peer.reset()
    else this.peers.push(peer)
  }

  close(): void {
    this.closing = true
    for (const peer of this.peers) peer.reset()
    this.peers.length = 0
  }

  check(what: string): void {
    if (this.unexpected > 0) throw new Error(`${what}: ${this.unexpected} WebSocket session(s) closed by the server`)
  }
}

/**
 * Opens `count` sessions with at most `concurrency` awaiting their first echo at a time, as the
 * TCP idle pool does; each sends one request first, `onFirstEcho` runs at its echo. Rejects on
 * the first session that fails before its echo.
 */
function openWindowed(
  set: PeerSet,
  factory: PeerFactory,
  count: number,
  concurrency: number,
  firstIndex: number,
  onEcho: (index: number, first: boolean, count: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let started = 0
    let done = 0
    if (count === 0) return resolve()
    const next = (): void => {
      if (started === count) return
      const index = started++
      let echoed = false
      const events = set.events((frames) => {
        const first = !echoed
        echoed = true
        onEcho(index, first, frames)
        if (!first) return
        if (++done === count) resolve()
        else next()
      })
      factory.open(events, firstIndex + index).then(
        (peer) => {
          set.add(peer)
          peer.send(1)
        },
        (error: unknown) => reject(new Error(`WebSocket session ${index} failed before its first echo: ${error instanceof Error ? error.message : String(error)}`)),
      )
    }
    for (let i = 0; i < Math.min(concurrency, count); i++) next()
  })
}

/** Idle sessions: each sends one request, gets its echo, then only answers heartbeats (zero) or pings (Colyseus). */
export class WsIdlePool {
  private set = new PeerSet()
  /** Sessions ever opened: spreads them over source addresses. */
  private opened = 0

  get open(): number {
    return this.set.peers.length - this.set.unexpected
  }

  get closedByServer(): number {
    return this.set.unexpected
  }

  /** Opens `count` more; resolves when every one has had its first echo, with this process's CPU share meanwhile. */
  async add(target: WsTarget, count: number, concurrency: number, timeoutMs: number): Promise<{ generatorCpu: number }> {
    const startedAt = performance.now()
    const cpuAt = cpuMs()
    const first = this.opened
    this.opened += count
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`ws-idle-open: ${count} sessions not all echoed after ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      await Promise.race([openWindowed(this.set, peerFactory(target, 16, 1), count, concurrency, first, () => {}), timeout])
    } finally {
      clearTimeout(timer)
    }
    return { generatorCpu: (cpuMs() - cpuAt) / (performance.now() - startedAt) }
  }

  close(): void {
    this.set.close()
    this.set = new PeerSet()
  }
}

/** A closed-loop echo load over WebSocket: each session keeps `inFlight` requests outstanding. */
export class WsEchoLoad {
  received = 0
  private readonly set = new PeerSet()

  constructor(
    private readonly target: WsTarget,
    private readonly shape: LoadShape,
  ) {}

  /** Resolves when every session is up and has its first requests out. */
  async start(): Promise<void> {
    const factory = peerFactory(this.target, this.shape.payloadSize, this.shape.inFlight)
    const opening: Promise<void>[] = []
    for (let i = 0; i < this.shape.connections; i++) {
      let peer: WsPeer | null = null
      const events = this.set.events((count) => {
        this.received += count
        peer?.send(count)
      })
      opening.push(
        factory.open(events, i).then((opened) => {
          peer = opened
          this.set.add(opened)
          opened.send(this.shape.inFlight)
        }),
      )
    }
    await Promise.all(opening)
  }

  check(what: string): void {
    this.set.check(what)
  }

  close(): void {
    this.set.close()
  }
}

/** Sessions awaiting their first echo at once while the latency load opens (latency.ts). */
const LATENCY_OPEN_CONCURRENCY = 256

/** A running WebSocket latency load, as latency.ts's: `measure` samples its round trips over a window, then closes it. */
export interface WsLatencyLoad {
  measure(window: Window): Promise<Percentiles & { generatorCpu: number }>
  close(): void
}

/**
 * `connections` sessions, one request in flight each, looping once every one has had its first
 * echo (which also paid for its connect); round trips are sampled over the window only.
 */
export async function startWsLatency(target: WsTarget, connections: number, payloadSize: number): Promise<WsLatencyLoad> {
  const set = new PeerSet()
  const factory = peerFactory(target, payloadSize, 1)
  const sentAt = new Float64Array(connections)
  const looping: boolean[] = new Array<boolean>(connections).fill(false)
  let samples = new Float64Array(1 << 16)
  let count = 0
  let recording = false
  const peers: (WsPeer | undefined)[] = []
  const opened = openWindowed(
    set,
    {
      // Keeps each peer by its index, so an echo can send the next request on it.
      open: (events, index) =>
        factory.open(events, index).then((peer) => {
          peers[index] = peer
          return peer
        }),
    },
    connections,
    LATENCY_OPEN_CONCURRENCY,
    0,
    (index, first) => {
      if (first || !looping[index]) return
      const now = performance.now()
      if (recording) {
        if (count === samples.length) {
          const grown = new Float64Array(samples.length * 2)
          grown.set(samples)
          samples = grown
        }
        samples[count++] = now - sentAt[index]!
      }
      sentAt[index] = now
      peers[index]!.send(1)
    },
  )
  try {
    await Promise.race([
      opened,
      sleep(30_000).then(() => {
        throw new Error(`ws latency: not every one of ${connections} sessions got a first echo in 30 s`)
      }),
    ])
  } catch (error) {
    set.close()
    throw error
  }
  for (let i = 0; i < connections; i++) {
    looping[i] = true
    sentAt[i] = performance.now()
    peers[i]!.send(1)
  }
  const loopsStartedAt = performance.now()
  return {
    close: () => set.close(),
    async measure(window) {
      await sleep(window.warmupMs - (performance.now() - loopsStartedAt))
      recording = true
      const startedAt = performance.now()
      const cpuAt = cpuMs()
      await sleep(window.durationMs)
      recording = false
      const generatorCpu = (cpuMs() - cpuAt) / (performance.now() - startedAt)
      set.close()
      set.check('ws latency')
      return { ...percentiles(samples.subarray(0, count)), generatorCpu }
    },
  }
}
