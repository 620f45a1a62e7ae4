import type { ChildProcess } from 'node:child_process'
import { endChild, spawnBenchChild } from './children.js'
import type { GeneratorCalls } from './messages.js'
import { RpcClient } from './rpc.js'

interface Generator {
  child: ChildProcess
  rpc: RpcClient<GeneratorCalls>
}

/**
 * The two Node load-generator processes, both on the generator's core, kept for the whole bench
 * (a tsx start costs ~0.5 s): `main` drives every scenario the compiled generator (load/cgen.ts)
 * does not; `storm` opens the login storm's new
 * connections while the compiled throughput load saturates the server, and warms up the next
 * run's server during a heartbeat window (see run.ts). `storm` starts on first use, so that it
 * does not share the core with `main` while the first run opens its sessions. One that died is
 * started again when next asked for.
 *
 * `main` runs at a lower priority (nice 10), and so does the saturating load during the storm
 * (CgenEchoLoad.yieldCore): they share one core with `storm`, and at equal priority the
 * saturating load took half of it from the storm's 1,000 connects, so the storm's p99 measured
 * that contention (the server sat 20% idle in a slow one) as much as the server. Alone on the
 * core, a niced process runs at full speed.
 */
export class Generators {
  private mainGenerator: Generator | null = null
  private stormGenerator: Generator | null = null

  constructor(private readonly cpu: number | null) {}

  main(): RpcClient<GeneratorCalls> {
    this.mainGenerator = this.alive(this.mainGenerator, 'generator', 10)
    return this.mainGenerator.rpc
  }

  storm(): RpcClient<GeneratorCalls> {
    this.stormGenerator = this.alive(this.stormGenerator, 'storm generator', 0)
    return this.stormGenerator.rpc
  }

  /** Both, for a clean slate between runs; only those started. */
  started(): RpcClient<GeneratorCalls>[] {
    return [this.mainGenerator, this.stormGenerator].flatMap((generator) => (generator ? [generator.rpc] : []))
  }

  async end(): Promise<void> {
    await Promise.all([this.mainGenerator, this.stormGenerator].map((generator) => (generator ? endChild(generator.child) : undefined)))
  }

  private alive(generator: Generator | null, label: string, nice: number): Generator {
    if (generator && generator.child.exitCode === null && generator.child.signalCode === null) return generator
    const child = spawnBenchChild('generator.ts', this.cpu, [], nice)
    return { child, rpc: new RpcClient<GeneratorCalls>(child, label) }
  }
}
