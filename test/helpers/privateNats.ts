/** A nats-server of a test's own, on a free port, to be killed and brought back (Debian's, at /usr/sbin/nats-server). */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { type AddressInfo, connect as connectSocket, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from './wait.js'

export class PrivateNats {
  private child: ChildProcess | null = null

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly jetStream: boolean,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  static async start(options: { jetStream?: boolean } = {}): Promise<PrivateNats> {
    const probe = createNetServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))
    const nats = new PrivateNats(port, await mkdtemp(join(tmpdir(), 'zerostate-nats-')), options.jetStream ?? true)
    await nats.restart()
    return nats
  }

  async restart(): Promise<void> {
    const jetStream = this.jetStream ? ['-js', '-sd', this.dir] : []
    this.child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), ...jetStream], { stdio: 'ignore' })
    await waitFor(() => this.accepting, { timeout: 10_000, message: 'the private nats-server listens' })
  }

  /** Ends the server at once, as a crash would. */
  async kill(): Promise<void> {
    const child = this.child
    this.child = null
    if (child === null || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  async stop(): Promise<void> {
    await this.kill()
    await rm(this.dir, { recursive: true, force: true })
  }

  private lastProbe = false
  private probing = false

  /** Whether the port takes connections (probed in the background, read by waitFor). */
  private get accepting(): boolean {
    if (!this.probing) {
      this.probing = true
      const socket = connectSocket({ host: '127.0.0.1', port: this.port })
      const done = (ok: boolean) => {
        this.lastProbe = ok
        this.probing = false
        socket.destroy()
      }
      socket.once('connect', () => done(true))
      socket.once('error', () => done(false))
    }
    return this.lastProbe
  }
}

const NATS_SERVER = '/usr/sbin/nats-server'
