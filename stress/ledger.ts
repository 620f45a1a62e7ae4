/**
 * Bookkeeping of a server's sessions as its handlers saw them, for runs of thousands of
 * connections: pairs every onConnect with its onDisconnect (by session id, retaining nothing per
 * closed session), and lets a client find the close reason of its own session through its local
 * port, which is the port of the session's `remoteAddress`.
 *
 * Ports are reused over a long run. A new connection from the same local port can only be
 * established once the server's socket of the previous one is gone (same 4-tuple), and the
 * server tells the game about the old close before it accepts the new socket, so a port's
 * sessions are claimed in connect order.
 */
import type { CloseReason, Session, SessionClosedError } from '../src/index.js'
import { portOf } from './util.js'

const MAX_PROBLEMS = 50

export type ClaimResult = CloseReason | 'no-session' | 'no-disconnect'

export class SessionLedger {
  connects = 0
  disconnects = 0
  /** Sessions whose `state` was not 'closed' when onDisconnect ran. */
  notClosedAtDisconnect = 0
  /** onDisconnect reasons of every session. */
  readonly reasons: Partial<Record<CloseReason, number>> = {}
  readonly problems: string[] = []
  private readonly open = new Set<string>()
  /** Session ids per client port, in connect order, not yet claimed. */
  private readonly byPort = new Map<number, string[]>()
  /** Reasons of closed sessions not yet claimed. */
  private readonly closed = new Map<string, CloseReason>()
  /** Resolvers of waits for the next connect or disconnect. */
  private waiters: (() => void)[] = []

  /** Call from onConnect (or with what a log line says about a session). */
  readonly connected = (session: Pick<Session, 'id' | 'remoteAddress'>): void => {
    this.connects++
    if (this.open.has(session.id)) this.problem(`session ${session.id}: onConnect twice`)
    this.open.add(session.id)
    const port = portOf(session.remoteAddress)
    const ids = this.byPort.get(port)
    if (ids === undefined) this.byPort.set(port, [session.id])
    else ids.push(session.id)
    this.notify()
  }

  /** Call from onDisconnect. */
  readonly disconnected = (session: Pick<Session, 'id' | 'state'>, error: Pick<SessionClosedError, 'code'>): void => {
    this.disconnects++
    if (!this.open.delete(session.id)) this.problem(`session ${session.id}: onDisconnect without an open onConnect (${error.code})`)
    if (session.state !== 'closed') this.notClosedAtDisconnect++
    this.reasons[error.code] = (this.reasons[error.code] ?? 0) + 1
    this.closed.set(session.id, error.code)
    this.notify()
  }

  /** Sessions connected and not yet disconnected. */
  get openCount(): number {
    return this.open.size
  }

  /** The oldest unclaimed session on that client port has been connected. */
  hasSessionOn(port: number): boolean {
    return (this.byPort.get(port)?.length ?? 0) > 0
  }

  /**
   * Waits (up to `timeout` ms) for the oldest unclaimed session from `port` to disconnect and
   * returns its reason, forgetting the session.
   */
  async claim(port: number, timeout: number): Promise<ClaimResult> {
    if (!(await this.until(() => this.hasSessionOn(port), timeout))) return 'no-session'
    const id = this.byPort.get(port)![0]!
    if (!(await this.until(() => this.closed.has(id), timeout))) return 'no-disconnect'
    const reason = this.closed.get(id)!
    this.closed.delete(id)
    const ids = this.byPort.get(port)!
    ids.shift()
    if (ids.length === 0) this.byPort.delete(port)
    return reason
  }

  /** A session from that client port is connected and not yet disconnected. */
  hasOpenSessionOn(port: number): boolean {
    return this.byPort.get(port)?.some((id) => this.open.has(id)) ?? false
  }

  /** Resolves true once `condition` holds after some connect or disconnect, false after `timeout` ms. */
  async until(condition: () => boolean, timeout: number): Promise<boolean> {
    if (condition()) return true
    const deadline = performance.now() + timeout
    let timer: NodeJS.Timeout | undefined
    try {
      for (;;) {
        const left = deadline - performance.now()
        if (left <= 0) return false
        await new Promise<void>((resolve) => {
          this.waiters.push(resolve)
          timer = setTimeout(resolve, left)
        })
        clearTimeout(timer)
        if (condition()) return true
      }
    } finally {
      clearTimeout(timer)
    }
  }

  private notify(): void {
    if (this.waiters.length === 0) return
    const waiters = this.waiters
    this.waiters = []
    for (const resolve of waiters) resolve()
  }

  /** Every onConnect had exactly one onDisconnect and vice versa. */
  pairingProblems(): string[] {
    const problems = [...this.problems]
    if (this.open.size > 0) problems.push(`${this.open.size} session(s) connected but never disconnected`)
    if (this.connects !== this.disconnects) problems.push(`${this.connects} onConnect vs ${this.disconnects} onDisconnect`)
    if (this.notClosedAtDisconnect > 0) problems.push(`${this.notClosedAtDisconnect} session(s) not in state 'closed' at onDisconnect`)
    return problems
  }

  private problem(text: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(text)
  }
}
