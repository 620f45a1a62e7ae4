import { epochNow, sleep } from './clock.js'
import type { ServerCalls, ServerStats } from './messages.js'
import { serveRpc } from './rpc.js'

/** What a server under test offers the harness; both the ceiling and zerostate adapt to it. */
export interface BenchTarget {
  listen(): Promise<number>
  readonly sessionCount: number
  /** Sends one frame to every session; returns how many it reached. */
  broadcast(id: number, data: Uint8Array): number
  stop(): Promise<void>
}

/** Called by the target each time a session is reported connected. */
export interface ConnectCounter {
  connected(): void
}

interface ConnectWaiter {
  target: number
  resolve(at: number): void
}

/**
 * Runs one server under test in this child process and answers the orchestrator's calls: port,
 * memory after GC, CPU time, session counts, broadcast trigger. Everything here is off the echo
 * path except one counter increment per connect.
 */
export function runServerChild(create: (counter: ConnectCounter) => BenchTarget): void {
  let connects = 0
  let waiters: ConnectWaiter[] = []
  const target = create({
    connected() {
      connects++
      if (waiters.length === 0) return
      const at = epochNow()
      waiters = waiters.filter((waiter) => {
        if (connects < waiter.target) return true
        waiter.resolve(at)
        return false
      })
    },
  })

  serveRpc<ServerCalls>({
    listen: async () => {
      const port = await target.listen()
      return { port, listenedAt: epochNow() }
    },
    stats: ({ gc }) => stats(gc, target, connects),
    'wait-connects': ({ target: count, timeoutMs }) =>
      new Promise((resolve, reject) => {
        if (connects >= count) return resolve({ at: epochNow() })
        const timer = setTimeout(() => reject(new Error(`only ${connects} of ${count} connects after ${timeoutMs} ms`)), timeoutMs)
        waiters.push({
          target: count,
          resolve: (at) => {
            clearTimeout(timer)
            resolve({ at })
          },
        })
      }),
    'wait-sessions': async ({ count, timeoutMs }) => {
      const deadline = performance.now() + timeoutMs
      while (target.sessionCount !== count && performance.now() < deadline) await sleep(10)
      return { reached: target.sessionCount === count, sessions: target.sessionCount }
    },
    broadcast: ({ id, size }) => {
      const data = new Uint8Array(size).fill(0x42)
      const at = epochNow()
      const reached = target.broadcast(id, data)
      return { at, doneAt: epochNow(), reached }
    },
    stop: async () => {
      await target.stop()
      // Exit after the answer is on its way.
      setTimeout(() => process.exit(0), 50)
      return {}
    },
  })
}

function stats(gc: boolean, target: BenchTarget, connects: number): ServerStats {
  if (gc) {
    if (!globalThis.gc) throw new Error('server children must run with --expose-gc')
    // Twice: the first pass can leave garbage that only a second one frees (weak refs, finalizers).
    globalThis.gc()
    globalThis.gc()
  }
  const cpu = process.cpuUsage()
  const memory = process.memoryUsage()
  return {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    cpuMs: (cpu.user + cpu.system) / 1000,
    sessions: target.sessionCount,
    connects,
  }
}
