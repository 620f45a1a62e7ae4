import { randomBytes } from 'node:crypto'
import { TOKEN_BYTES } from './resumeControl.js'

/**
 * The live resume tokens of one server: 128 random bits from `crypto` each, bound to one session,
 * opening it once. A session holds at most one token: issuing a new one revokes the old.
 */
export class ResumeTokens<S extends { token: string | null }> {
  private readonly sessions = new Map<string, S>()

  get size(): number {
    return this.sessions.size
  }

  issue(session: S): Buffer {
    this.revoke(session)
    const token = randomBytes(TOKEN_BYTES)
    session.token = token.toString('base64url')
    this.sessions.set(session.token, session)
    return token
  }

  /** The session the token opens, which it then no longer opens; undefined for any other token. */
  take(token: Uint8Array): S | undefined {
    if (token.length !== TOKEN_BYTES) return undefined
    const key = Buffer.from(token.buffer, token.byteOffset, token.byteLength).toString('base64url')
    const session = this.sessions.get(key)
    if (session === undefined) return undefined
    this.revoke(session)
    return session
  }

  revoke(session: S): void {
    if (session.token === null) return
    this.sessions.delete(session.token)
    session.token = null
  }
}
