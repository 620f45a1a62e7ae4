/**
 * Resuming sessions, as the server does it, over TCP and over WebSocket with raw peers that write
 * the resume control frames by hand: the token on activation, a RESUME as the first frame of a new
 * connection, the replay of exactly what the client missed, the token rules, the grace, and what
 * the handlers see.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { RESUME_CONTROL_IDS, resumeFrame } from '../src/resume/resumeControl.js'
import { frame } from './helpers/frames.js'
import { cleanup, type Harness, SimulatedClock, startServer } from './helpers/harness.js'
import { type Peer, TRANSPORTS } from './helpers/peer.js'
import { nextIO, settle, waitFor } from './helpers/wait.js'

afterEach(cleanup)

const GRACE = 10_000
const HEARTBEAT = { interval: 1_000, timeout: 3_000 }
const { TOKEN, RESUMED, GOODBYE } = RESUME_CONTROL_IDS

/** The last token the server gave this peer. */
async function tokenOf(peer: Peer, nth = 1): Promise<Buffer> {
  await waitFor(() => peer.frames.filter((f) => f.id === TOKEN).length >= nth, { message: 'a TOKEN frame' })
  const token = peer.frames.filter((f) => f.id === TOKEN).at(-1)!
  expect(token.data.length).toBe(16)
  return Buffer.from(token.data)
}

/** Frames the peer received that count toward resuming: all but heartbeats and resume control frames. */
function counted(peer: Peer): { id: number; text: string }[] {
  return peer.frames.filter((f) => f.id !== 0 && !(f.id <= -10 && f.id >= -13)).map((f) => ({ id: f.id, text: Buffer.from(f.data).toString() }))
}

function resume(token: Uint8Array, received: number): Buffer {
  const message = resumeFrame(token, received)
  return frame(message.id, message.data)
}

function goodbyeReason(peer: Peer): string | undefined {
  const goodbye = peer.frames.find((f) => f.id === GOODBYE)
  return goodbye === undefined ? undefined : Buffer.from(goodbye.data).toString()
}

describe.each(TRANSPORTS)('resume over %s', (transport) => {
  const start = (options: { replayBytes?: number; clock?: SimulatedClock } = {}): Promise<Harness> =>
    startServer({
      transport,
      clock: options.clock ?? new SimulatedClock(),
      heartbeat: HEARTBEAT,
      resume: { grace: GRACE, ...(options.replayBytes === undefined ? {} : { replayBytes: options.replayBytes }) },
      echo: false,
    })

  /** A peer with an active session: its first frame sent, its token received. */
  async function activePeer(h: Harness): Promise<{ peer: Peer; token: Buffer; sessionId: string }> {
    const peer = await h.openPeer()
    await peer.write(frame(1, 'hello'))
    const session = await h.sessionFor(peer.localPort)
    const token = await tokenOf(peer)
    return { peer, token, sessionId: session.id }
  }

  it('the game hears of a session at its first frame, which activates it and brings its token', async () => {
    const h = await start()
    const peer = await h.openPeer()
    await settle()
    expect(h.connects, 'a connection is not a session before its first frame').toEqual([])
    expect(h.server.connectionCount).toBe(1)
    await peer.write(frame(1, 'hello'))
    const session = await h.sessionFor(peer.localPort)
    await tokenOf(peer)
    expect(session.state).toBe('active')
    await waitFor(() => h.messages.length === 1)
    expect(h.messagesFrom(session).map((m) => Buffer.from(m.data).toString())).toEqual(['hello'])
  })

  it('a heartbeat as the first frame makes a new session too, as without resume', async () => {
    const h = await start()
    const peer = await h.openPeer()
    await peer.write(frame(0))
    const session = await h.sessionFor(peer.localPort)
    await tokenOf(peer)
    expect(session.state).toBe('active')
  })

  it('a grace shorter than the heartbeat deadlines is kept to a quarter of itself: the sweep runs that often', async () => {
    const clock = new SimulatedClock()
    const h = await startServer({ transport, clock, heartbeat: { interval: 5_000, timeout: 30_000 }, resume: { grace: 400 }, echo: false })
    const { peer, sessionId } = await activePeer(h)
    const session = h.server.session(sessionId)!
    peer.reset()
    await waitFor(() => session.state === 'detached')
    clock.increment(399)
    await settle()
    expect(session.state).toBe('detached')
    for (let n = 0; n < 2 && session.state === 'detached'; n++) {
      clock.increment(100)
      await settle()
    }
    expect(session.state, 'closed within one sweep period (100 ms) of the grace').toBe('closed')
  })

  it('a peer that resets is detached; its resume gets the frames it missed, in order, then the session goes on', async () => {
    const h = await start()
    const { peer, token, sessionId } = await activePeer(h)
    const session = h.server.session(sessionId)!
    session.send({ id: 5, data: Buffer.from('one') })
    await waitFor(() => counted(peer).length === 1)
    peer.reset()
    await waitFor(() => session.state === 'detached')
    // Sent while detached: kept for the resume.
    session.send({ id: 5, data: Buffer.from('two') })
    expect(h.server.unicast(sessionId, { id: 5, data: Buffer.from('three') })).toBe(true)
    expect(h.server.broadcast({ id: 6, data: Buffer.from('all') })).toBe(1)

    const again = await h.openPeer()
    await again.write(resume(token, 1))
    await waitFor(() => counted(again).length === 3)
    expect(counted(again)).toEqual([
      { id: 5, text: 'two' },
      { id: 5, text: 'three' },
      { id: 6, text: 'all' },
    ])
    // First RESUMED with how many of the client's frames were read (the one 'hello'), then a new token.
    const resumed = again.frames.find((f) => f.id === RESUMED)!
    expect(Buffer.from(resumed.data).readUInt32BE(0)).toBe(1)
    expect(again.frames.findIndex((f) => f.id === RESUMED)).toBeLessThan(again.frames.findIndex((f) => f.id === 5))
    const fresh = await tokenOf(again)
    expect(fresh.equals(token), 'the token is rotated').toBe(false)
    expect(session.state).toBe('active')
    expect(h.server.session(sessionId)).toBe(session)
    expect(h.disconnects, 'no onDisconnect: the session never ended').toEqual([])
    expect(h.connects).toHaveLength(1)

    await again.write(frame(1, 'after'))
    await waitFor(() => h.messagesFrom(session).length === 2)
    expect(h.messagesFrom(session).map((m) => Buffer.from(m.data).toString())).toEqual(['hello', 'after'])
    expect(session.remoteAddress.endsWith(`:${again.localPort}`), 'the session now shows its new connection').toBe(true)
  })

  it('a client that received everything gets nothing replayed', async () => {
    const h = await start()
    const { peer, token, sessionId } = await activePeer(h)
    h.server.unicast(sessionId, { id: 5, data: Buffer.from('one') })
    await waitFor(() => counted(peer).length === 1)
    peer.end()
    await waitFor(() => h.server.session(sessionId)!.state === 'detached')
    const again = await h.openPeer()
    await again.write(resume(token, 1))
    await tokenOf(again)
    await settle()
    expect(counted(again)).toEqual([])
  })

  it('the grace runs out on the sweep: onDisconnect once, with the loss reason, and the token opens nothing', async () => {
    const clock = new SimulatedClock()
    const h = await start({ clock })
    const { peer, token, sessionId } = await activePeer(h)
    const session = h.server.session(sessionId)!
    peer.reset()
    await waitFor(() => session.state === 'detached')
    const detachedAt = clock.now()
    clock.increment(GRACE - 1)
    await settle()
    expect(session.state, '1 ms before the grace ends').toBe('detached')
    for (let n = 0; n < 4 && session.state === 'detached'; n++) {
      clock.increment(HEARTBEAT.interval / 4)
      await nextIO()
    }
    expect(session.state).toBe('closed')
    expect(clock.now() - detachedAt).toBeGreaterThanOrEqual(GRACE)
    expect((await h.disconnectOf(session)).code).toBe('reset')
    expect(h.disconnects).toHaveLength(1)

    const late = await h.openPeer()
    await late.write(resume(token, 0))
    await late.waitClosed()
    expect(goodbyeReason(late)).toBe('resume-refused')
    if (transport === 'websocket') expect(late.closeFrame).toEqual({ code: 4007, reason: 'resume-refused' })
  })

  it('a silent peer past the heartbeat timeout is detached too, and its grace ends with heartbeat-timeout', async () => {
    const clock = new SimulatedClock()
    const h = await start({ clock })
    const { peer, sessionId } = await activePeer(h)
    const session = h.server.session(sessionId)!
    clock.increment(HEARTBEAT.timeout)
    await waitFor(() => session.state === 'detached')
    await peer.waitClosed()
    if (transport === 'websocket') expect(peer.closeFrame).toEqual({ code: 4002, reason: 'heartbeat-timeout' })
    clock.increment(GRACE)
    await waitFor(() => session.state === 'closed')
    expect((await h.disconnectOf(session)).code).toBe('heartbeat-timeout')
  })

  it('a wrong token, a used one and a malformed RESUME are refused alike, and the game hears nothing of them', async () => {
    const h = await start()
    const { peer, token, sessionId } = await activePeer(h)
    peer.reset()
    await waitFor(() => h.server.session(sessionId)!.state === 'detached')
    const winner = await h.openPeer()
    await winner.write(resume(token, 0))
    await tokenOf(winner)
    for (const bytes of [resume(Buffer.alloc(16, 7), 0), resume(token, 0), frame(RESUME_CONTROL_IDS.RESUME, 'short')]) {
      const refused = await h.openPeer()
      await refused.write(bytes)
      await refused.waitClosed()
      expect(goodbyeReason(refused)).toBe('resume-refused')
      expect(counted(refused)).toEqual([])
    }
    expect(h.connects).toHaveLength(1)
    expect(h.disconnects).toEqual([])
    expect(h.server.session(sessionId)!.state).toBe('active')
  })

  it('a token presented by a resume whose connection is lost before the client confirmed the new one opens the session again; once confirmed, never', async () => {
    const h = await start()
    const { peer, token, sessionId } = await activePeer(h)
    const session = h.server.session(sessionId)!
    peer.reset()
    await waitFor(() => session.state === 'detached')
    // Resumed, but lost before the client could say it holds the new token.
    const unconfirmed = await h.openPeer()
    await unconfirmed.write(resume(token, 0))
    await tokenOf(unconfirmed)
    unconfirmed.reset()
    await waitFor(() => session.state === 'detached')
    const retry = await h.openPeer()
    await retry.write(resume(token, 0))
    const newest = await tokenOf(retry)
    await retry.write(frame(RESUMED))
    await settle()
    retry.reset()
    await waitFor(() => session.state === 'detached')
    const replay = await h.openPeer()
    await replay.write(resume(token, 0))
    await replay.waitClosed()
    expect(goodbyeReason(replay), 'the confirmed resume killed the token it presented').toBe('resume-refused')
    const last = await h.openPeer()
    await last.write(resume(newest, 0))
    await tokenOf(last)
    expect(session.state).toBe('active')
  })

  it('two connections presenting the same token at once: exactly one resumes', async () => {
    const h = await start()
    const { peer, token, sessionId } = await activePeer(h)
    peer.reset()
    await waitFor(() => h.server.session(sessionId)!.state === 'detached')
    const [a, b] = await Promise.all([h.openPeer(), h.openPeer()])
    await Promise.all([a.write(resume(token, 0)), b.write(resume(token, 0))])
    await waitFor(() => [a, b].filter((p) => p.frames.some((f) => f.id === RESUMED)).length === 1 && [a, b].some((p) => p.closed))
    await settle()
    const winners = [a, b].filter((p) => p.frames.some((f) => f.id === RESUMED))
    const losers = [a, b].filter((p) => goodbyeReason(p) === 'resume-refused')
    expect(winners).toHaveLength(1)
    expect(losers).toHaveLength(1)
    expect(winners[0]!.closed).toBe(false)
  })

  it('a resume while the old connection still looks alive takes the session over and closes the old one with replaced', async () => {
    const h = await start()
    const { peer, token, sessionId } = await activePeer(h)
    const again = await h.openPeer()
    await again.write(resume(token, 0))
    await peer.waitClosed()
    if (transport === 'websocket') expect(peer.closeFrame).toEqual({ code: 4006, reason: 'replaced' })
    await tokenOf(again)
    expect(h.server.session(sessionId)!.state).toBe('active')
    // The old connection's late close changes nothing: it no longer reports to the session.
    await settle()
    expect(h.server.session(sessionId)!.state).toBe('active')
    expect(h.disconnects).toEqual([])
  })

  it('a client that missed more than the replay buffer holds is refused with replay-unavailable, and the session ends', async () => {
    const h = await start({ replayBytes: 256 })
    const { peer, token, sessionId } = await activePeer(h)
    const session = h.server.session(sessionId)!
    // Sent before the drop, and never read: the log keeps only the last 256 bytes of them.
    peer.pauseReading()
    for (let i = 0; i < 5; i++) expect(session.send({ id: 5, data: Buffer.alloc(40, i) })).toBe(true)
    await settle()
    peer.reset()
    await waitFor(() => session.state === 'detached')
    const again = await h.openPeer()
    await again.write(resume(token, 0))
    await again.waitClosed()
    expect(goodbyeReason(again)).toBe('replay-unavailable')
    if (transport === 'websocket') expect(again.closeFrame).toEqual({ code: 4008, reason: 'replay-unavailable' })
    expect((await h.disconnectOf(session)).code).toBe('replay-unavailable')
  })

  it('sending more while detached than the replay buffer holds ends the session with slow-consumer', async () => {
    const h = await start({ replayBytes: 256 })
    const { peer, sessionId } = await activePeer(h)
    const session = h.server.session(sessionId)!
    peer.reset()
    await waitFor(() => session.state === 'detached')
    expect(session.send({ id: 5, data: Buffer.alloc(200) })).toBe(true)
    expect(session.send({ id: 5, data: Buffer.alloc(200) })).toBe(false)
    expect((await h.disconnectOf(session)).code).toBe('slow-consumer')
  })

  it('kicks and stops close for good, and say so in a GOODBYE first; a GOODBYE from the client ends the session at once', async () => {
    const h = await start()
    const kicked = await activePeer(h)
    h.server.session(kicked.sessionId)!.close('bye')
    await kicked.peer.waitClosed()
    expect(goodbyeReason(kicked.peer)).toBe('kicked')
    expect(h.reasonOf(kicked.sessionId)).toBe('kicked')

    const leaving = await activePeer(h)
    await leaving.peer.write(frame(GOODBYE))
    expect((await h.disconnectOf(h.server.session(leaving.sessionId) ?? h.connects.at(-1)!)).code).toBe('client-closed')

    const stopped = await activePeer(h)
    const detached = await activePeer(h)
    detached.peer.reset()
    await waitFor(() => h.server.session(detached.sessionId)!.state === 'detached')
    await h.server.stop()
    expect(goodbyeReason(stopped.peer)).toBe('server-stopping')
    expect(h.reasonOf(detached.sessionId)).toBe('server-stopping')
  })

  it('without resume, the resume ids are ordinary frames and no token is sent', async () => {
    const h = await startServer({ transport, clock: new SimulatedClock(), echo: false })
    const peer = await h.openPeer()
    await peer.write(Buffer.concat([frame(1, 'hello'), frame(GOODBYE), frame(RESUME_CONTROL_IDS.RESUME, 'x')]))
    await waitFor(() => h.messages.length === 3)
    expect(h.messages.map((m) => m.message.id)).toEqual([1, GOODBYE, RESUME_CONTROL_IDS.RESUME])
    await settle()
    expect(peer.frames.filter((f) => f.id === TOKEN)).toEqual([])
  })
})
