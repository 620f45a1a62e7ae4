/**
 * A raw `node:net` peer on 127.0.0.1: writes exactly the bytes it is told to and answers nothing
 * (so silence is silence), decodes what it receives with the tests' own frame parser
 * (ReceivedFrames), and records how the connection ended. Every open peer
 * is tracked so that `destroyPeers()` (the harness's cleanup) can tear them down.
 */
import { connect as connectSocket, type Socket } from 'node:net'
import type { Peer } from './peer.js'
import { ReceivedFrames } from './receivedFrames.js'
import { waitFor } from './wait.js'

export type { ReceivedFrame } from './receivedFrames.js'

const open = new Set<RawPeer>()

/** Destroys every raw peer still open (from the harness's cleanup). */
export function destroyPeers(): void {
  for (const peer of open) peer.destroy()
  open.clear()
}

export class RawPeer extends ReceivedFrames implements Peer {
  readonly transport = 'tcp'
  /** TCP has no close frame. */
  readonly closeFrame = null
  /** The server sent a FIN. */
  gotEnd = false
  /** The socket is fully closed. */
  closed = false
  /** The socket closed with an error (e.g. ECONNRESET). */
  error: Error | null = null
  /** How the connection ended as seen from here: the server's FIN, an error (RST), or our own doing. */
  ending: 'server-fin' | 'error' | 'client' | null = null

  private constructor(readonly socket: Socket) {
    super()
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('end', () => {
      this.gotEnd = true
      this.ending ??= 'server-fin'
    })
    socket.on('error', (error) => {
      this.error = error
      this.ending ??= 'error'
    })
    socket.on('close', () => {
      this.closed = true
      open.delete(this)
    })
  }

  /** Connects to 127.0.0.1:`port`; rejects if the connection is refused. */
  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connectSocket({ host: '127.0.0.1', port, noDelay: true })
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        const peer = new RawPeer(socket)
        open.add(peer)
        resolve(peer)
      })
    })
  }

  get serverClosed(): boolean {
    return this.gotEnd
  }

  get localPort(): number {
    return this.socket.localPort ?? 0
  }

  /** Writes and resolves once the bytes were handed to the kernel (or rejects if the socket failed). */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (error) => (error ? reject(error) : resolve()))
    })
  }

  /** Writes one byte per write, with an I/O turn between writes so the server reads them apart. */
  async writeBytewise(bytes: Uint8Array): Promise<void> {
    for (let i = 0; i < bytes.length; i++) {
      await this.write(bytes.subarray(i, i + 1))
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }

  /** A clean close: FIN. */
  end(): void {
    this.ending ??= 'client'
    this.socket.end()
  }

  /** An abrupt close: RST, as a crashing peer. */
  reset(): void {
    this.ending ??= 'client'
    this.socket.resetAndDestroy()
  }

  destroy(): void {
    this.socket.destroy()
  }

  pauseReading(): void {
    this.socket.pause()
  }

  resumeReading(): void {
    this.socket.resume()
  }

  async waitClosed(timeout = 2_000): Promise<void> {
    await waitFor(() => this.closed, { timeout, message: 'raw socket closed by the server' })
  }
}
