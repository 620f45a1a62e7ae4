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
 * connections while `main` saturates the server, so that load's callbacks do not delay them.
 * One that died is started again for the next server run.
 */
export class Generators {
  private main: Generator | null = null
  private storm: Generator | null = null

  constructor(private readonly cpu: number | null) {}

  ensure(): { main: RpcClient<GeneratorCalls>; storm: RpcClient<GeneratorCalls> } {
    this.main = this.alive(this.main, 'generator')
    this.storm = this.alive(this.storm, 'storm generator')
    return { main: this.main.rpc, storm: this.storm.rpc }
  }

  async end(): Promise<void> {
    await Promise.all([this.main, this.storm].map((generator) => (generator ? endChild(generator.child) : undefined)))
  }

  private alive(generator: Generator | null, label: string): Generator {
    if (generator && generator.child.exitCode === null && generator.child.signalCode === null) return generator
    const child = spawnBenchChild('generator.ts', this.cpu)
    return { child, rpc: new RpcClient<GeneratorCalls>(child, label) }
  }
}
