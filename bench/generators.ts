import type { ChildProcess } from 'node:child_process'
import { endChild, spawnBenchChild } from './children.js'
import type { GeneratorCalls } from './messages.js'
import { RpcClient } from './rpc.js'

interface Generator {
  child: ChildProcess
  rpc: RpcClient<GeneratorCalls>
}

/**
 * The two load-generator processes, both on the generator's core, kept for the whole bench (a
 * tsx start costs ~0.5 s): `main` drives every scenario; `storm` opens the login storm's new
 * connections while `main` saturates the server, so that load's callbacks do not delay them, and
 * warms up the next run's server during a heartbeat window (see run.ts). `storm` starts on first
 * use, so that it does not share the core with `main` while the first run opens its sessions.
 * One that died is started again when next asked for.
 */
export class Generators {
  private mainGenerator: Generator | null = null
  private stormGenerator: Generator | null = null

  constructor(private readonly cpu: number | null) {}

  main(): RpcClient<GeneratorCalls> {
    this.mainGenerator = this.alive(this.mainGenerator, 'generator')
    return this.mainGenerator.rpc
  }

  storm(): RpcClient<GeneratorCalls> {
    this.stormGenerator = this.alive(this.stormGenerator, 'storm generator')
    return this.stormGenerator.rpc
  }

  /** Both, for a clean slate between runs; only those started. */
  started(): RpcClient<GeneratorCalls>[] {
    return [this.mainGenerator, this.stormGenerator].flatMap((generator) => (generator ? [generator.rpc] : []))
  }

  async end(): Promise<void> {
    await Promise.all([this.mainGenerator, this.stormGenerator].map((generator) => (generator ? endChild(generator.child) : undefined)))
  }

  private alive(generator: Generator | null, label: string): Generator {
    if (generator && generator.child.exitCode === null && generator.child.signalCode === null) return generator
    const child = spawnBenchChild('generator.ts', this.cpu)
    return { child, rpc: new RpcClient<GeneratorCalls>(child, label) }
  }
}
