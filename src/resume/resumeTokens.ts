import { randomBytes } from 'node:crypto'
import { TOKEN_BYTES } from './resumeControl.js'

/** What a session holds of its tokens. */
export interface TokenHolder {
  /** The token the session gave its client last (base64url). */
  token: string | null
  /**
   * The token the last resume presented, until the client confirms it holds the new one: should
   * the new connection be lost before the new token arrived, this one opens the session again.
   */
  spent: string | null
}

/**
 * The live resume tokens of one server: 128 random bits from `crypto` each (96 in a cluster, after
 * 32 that name the node), bound to one session.
 * A resume takes its token out at once, so of two connections presenting it only the first is
 * let in; the token opens nothing while that connection lives, and dies when the client confirms
 * the new one, or comes back should the connection be lost before the client had the new token.
 */
export class ResumeTokens<S extends TokenHolder> {
  private readonly sessions = new Map<string, S>()
  /** In a cluster, every token starts with these bytes of the node's (src/cluster/tunnels.ts), the rest random. */
  prefix: Uint8Array | null = null

  get size(): number {
    return this.sessions.size
  }

  /** A new token for the session; its previous token no longer opens it. */
  issue(session: S): Buffer {
    if (session.token !== null) this.sessions.delete(session.token)
    const token = randomBytes(TOKEN_BYTES)
    if (this.prefix !== null) token.set(this.prefix)
    session.token = token.toString('base64url')
    this.sessions.set(session.token, session)
    return token
  }

  /** The session the token opens, whose tokens are then all taken out; undefined for any other token. */
  take(token: Uint8Array): S | undefined {
    if (token.length !== TOKEN_BYTES) return undefined
    const key = Buffer.from(token.buffer, token.byteOffset, token.byteLength).toString('base64url')
    const session = this.sessions.get(key)
    if (session === undefined) return undefined
    this.revoke(session)
    session.spent = key
    return session
  }

  /** The client has the session's newest token: the spent one is dead. */
  confirm(session: S): void {
    session.spent = null
  }

  /** The session's connection was lost: a resume not confirmed yet may present its spent token again. */
  lost(session: S): void {
    if (session.spent !== null) this.sessions.set(session.spent, session)
  }

  revoke(session: S): void {
    if (session.token !== null) this.sessions.delete(session.token)
    if (session.spent !== null) this.sessions.delete(session.spent)
    session.token = session.spent = null
  }
}
