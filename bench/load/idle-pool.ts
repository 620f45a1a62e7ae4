import type net from 'node:net'
import { HEARTBEAT_FRAME } from '../../src/protocol/encoder.js'
import { epochNow } from '../clock.js'
import { FrameScanner } from '../frame-scanner.js'
import { CloseTracker, openSocket, precomputedFrames, resetSocket } from './sockets.js'

/**
 * Source addresses for idle sessions. One source address has ~28k ephemeral ports (32768–60999)
 * for one server port, so 50,000 sessions need more than one; spreading every run over four keeps
 * that path exercised at 10,000 too.
 */
const SOURCE_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']
const HANDSHAKE_PAYLOAD = 16

interface IdleSession {
  socket: net.Socket
  scanner: FrameScanner
  /** Its first echo arrived: the server holds it as an active session. */
  active: boolean
  /** epochNow() of the first data frame after the last broadcast reset; NaN before one. */
  broadcastAt: number
}

/**
 * Sessions that send one frame, get its echo, then only answer heartbeats: the idle-memory,
 * heartbeat, broadcast and connect-rate scenarios. Opening is windowed (`concurrency` sessions
 * awaiting their echo at a time) so a burst measures the server, not SYN drops at a full
 * accept queue (Node's default backlog is 511).
 */
export class IdlePool {
  tracker = new CloseTracker()
  private readonly sessions: IdleSession[] = []
  private readonly handshake = precomputedFrames(HANDSHAKE_PAYLOAD, 1).buffer
  private broadcasts = 0
  private lastBroadcastAt = 0
  private broadcastWaiter: (() => void) | null = null

  get open(): number {
    return this.sessions.length - this.tracker.unexpected
  }

  get heartbeats(): number {
    let total = 0
    for (const session of this.sessions) total += session.scanner.heartbeats
    return total
  }

  get broadcastsReceived(): number {
    return this.broadcasts
  }

  get lastBroadcast(): number {
    return this.lastBroadcastAt
  }

  /** Opens `count` more sessions; resolves when every one of them has had its first echo. */
  add(port: number, count: number, concurrency: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let started = 0
      let done = 0
      const next = (): void => {
        if (done === count) return resolve()
        if (started === count) return
        const index = this.sessions.length
        started++
        this.connect(port, SOURCE_ADDRESSES[index % SOURCE_ADDRESSES.length]!, () => {
          done++
          next()
        }, reject)
      }
      for (let i = 0; i < Math.min(concurrency, count); i++) next()
      if (count === 0) resolve()
    })
  }

  resetBroadcast(): void {
    for (const session of this.sessions) session.broadcastAt = Number.NaN
    this.broadcasts = 0
    this.lastBroadcastAt = 0
  }

  /** Resolves once `expected` sessions have a broadcast, or at the timeout with what arrived. */
  waitBroadcast(expected: number, timeoutMs: number): Promise<void> {
    if (this.broadcasts >= expected) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.broadcastWaiter = null
        resolve()
      }, timeoutMs)
      this.broadcastWaiter = () => {
        if (this.broadcasts < expected) return
        clearTimeout(timer)
        this.broadcastWaiter = null
        resolve()
      }
    })
  }

  close(): void {
    // The old tracker keeps `closing` for the closes still to come; new sessions get a fresh one.
    this.tracker.closing = true
    this.tracker = new CloseTracker()
    for (const session of this.sessions) resetSocket(session.socket)
    this.sessions.length = 0
  }

  private connect(port: number, localAddress: string, onActive: () => void, onError: (error: Error) => void): void {
    const socket = openSocket(port, localAddress)
    const session: IdleSession = { socket, scanner: new FrameScanner(), active: false, broadcastAt: Number.NaN }
    this.sessions.push(session)
    this.tracker.watch(socket)
    socket.once('connect', () => socket.write(this.handshake))
    socket.on('error', (error: Error) => {
      if (!session.active) onError(new Error(`idle session ${this.sessions.indexOf(session)} failed before its first echo: ${error.message}`))
    })
    socket.on('data', (chunk: Buffer) => {
      const heartbeats = session.scanner.heartbeats
      const frames = session.scanner.push(chunk)
      if (session.scanner.heartbeats !== heartbeats) socket.write(HEARTBEAT_FRAME)
      if (frames === 0) return
      if (!session.active) {
        session.active = true
        onActive()
        if (frames === 1) return
      }
      // After the handshake echo, the only data frames a server sends unasked are broadcasts.
      if (Number.isNaN(session.broadcastAt)) {
        session.broadcastAt = epochNow()
        this.lastBroadcastAt = session.broadcastAt
        this.broadcasts++
        this.broadcastWaiter?.()
      }
    })
  }
}
