/**
 * A raw `node:net` peer on 127.0.0.1: writes exactly the bytes it is told to and answers nothing
 * (so silence is silence), decodes what it receives with its own frame parser (independent of
 * src/, checksums by the textbook Adler-32), and records how the connection ended. Every open peer
 * is tracked so that `destroyPeers()` (the harness's cleanup) can tear them down.
 */
import { connect as connectSocket, type Socket } from 'node:net'
import type { Message } from '../../src/protocol/message.js'
import { adler32 } from './adler32.js'
import { waitFor } from './wait.js'

/** A frame as the peer received it; one failing its checksum is recorded with `badChecksum`. */
export interface ReceivedFrame extends Message {
  /** The whole frame, size field and checksum included. */
  raw: Buffer
  badChecksum: boolean
}

const open = new Set<RawPeer>()

/** Destroys every raw peer still open (from the harness's cleanup). */
export function destroyPeers(): void {
  for (const peer of open) peer.destroy()
  open.clear()
}

export class RawPeer {
  /** Every byte received, in order. */
  received: Buffer = Buffer.alloc(0)
  /** Frames parsed from `received`, in order. */
  readonly frames: ReceivedFrame[] = []
  /** The server sent a FIN. */
  gotEnd = false
  /** The socket is fully closed. */
  closed = false
  /** The socket closed with an error (e.g. ECONNRESET). */
  error: Error | null = null
  /** How the connection ended as seen from here: the server's FIN, an error (RST), or our own doing. */
  ending: 'server-fin' | 'error' | 'client' | null = null
  /** A size field below 8 arrived: nothing after it can be parsed. */
  malformed = false
  private parsed = 0

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk])
      this.parse()
    })
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

  /** Everything received so far was well-formed frames with right checksums (a partial last frame aside). */
  get wellFormed(): boolean {
    return !this.malformed && this.frames.every((f) => !f.badChecksum)
  }

  /** Frames received that are not heartbeats. */
  get messages(): Message[] {
    return this.frames.filter((f) => f.id !== 0)
  }

  get heartbeats(): number {
    return this.frames.filter((f) => f.id === 0).length
  }

  async waitClosed(timeout = 2_000): Promise<void> {
    await waitFor(() => this.closed, { timeout, message: 'raw socket closed by the server' })
  }

  private parse(): void {
    const buf = this.received
    while (buf.length - this.parsed >= 4) {
      const size = buf.readInt32LE(this.parsed)
      if (size < 8) this.malformed = true
      if (size < 8 || this.parsed + 4 + size > buf.length) return
      const start = this.parsed
      const end = start + 4 + size
      this.frames.push({
        id: buf.readInt32LE(start + 4),
        data: Buffer.from(buf.subarray(start + 8, end - 4)),
        raw: Buffer.from(buf.subarray(start, end)),
        badChecksum: buf.readUInt32LE(end - 4) !== adler32(buf.subarray(start + 4, end - 4)),
      })
      this.parsed = end
    }
  }
}
