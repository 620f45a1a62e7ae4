/**
 * A raw WebSocket peer on `ws`, beside RawPeer: sends exactly the bytes it is told to as binary
 * messages (or text, which zerostate refuses), answers no heartbeat, parses what it receives as
 * one byte stream of frames (ReceivedFrames, the tests' own parser) and records the close frame's
 * code and text. Every open peer is tracked so that the harness's cleanup can tear it down.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocket } from 'ws'
import type { Peer } from './peer.js'
import { ReceivedFrames } from './receivedFrames.js'
import { nextIO, waitFor } from './wait.js'

/** ws reports a connection that ended without a close frame with this code. */
const ABNORMAL_CLOSURE = 1006

const open = new Set<RawWebSocketPeer>()

/** Terminates every WebSocket peer still open (from the harness's cleanup). */
export function destroyWebSocketPeers(): void {
  for (const peer of open) peer.destroy()
  open.clear()
}

export class RawWebSocketPeer extends ReceivedFrames implements Peer {
  readonly transport = 'websocket'
  /** Binary messages received, each as it came. */
  readonly binaryMessages: Buffer[] = []
  /** Text messages received (a zerostate server sends none). */
  readonly textMessages: string[] = []
  closed = false
  /** The code and text of the server's close frame, once one arrived. */
  closeFrame: { code: number; reason: string } | null = null
  /** The close code ws reported, 1006 when the connection ended without a close frame. */
  closeCode: number | null = null
  error: Error | null = null
  /** How the connection ended as seen from here: the server's close frame, without one, or our own doing. */
  ending: 'server-close' | 'abnormal' | 'client' | null = null

  private constructor(
    readonly ws: WebSocket,
    /** The TCP socket under the WebSocket. */
    readonly socket: Socket,
  ) {
    super()
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        this.binaryMessages.push(data)
        this.receive(data)
      } else this.textMessages.push(data.toString())
    })
    ws.on('error', (error) => (this.error = error))
    ws.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code
      if (this.ending !== 'client' && code !== ABNORMAL_CLOSURE) this.closeFrame = { code, reason: reason.toString() }
      this.ending ??= code === ABNORMAL_CLOSURE ? 'abnormal' : 'server-close'
      this.closed = true
      open.delete(this)
    })
  }

  /** Opens a WebSocket to `url` (ws://127.0.0.1:port/path); rejects if the upgrade fails. */
  static open(url: string, headers: Record<string, string> = {}): Promise<RawWebSocketPeer> {
    return new Promise((resolve, reject) => {
      // The client's own limit off: the server's messages are what is under test.
      const ws = new WebSocket(url, { headers, maxPayload: 0, perMessageDeflate: false })
      let socket: Socket | null = null
      ws.once('upgrade', (response: IncomingMessage) => (socket = response.socket as Socket))
      ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)))
      ws.once('error', reject)
      ws.once('open', () => {
        ws.off('error', reject)
        const peer = new RawWebSocketPeer(ws, socket!)
        open.add(peer)
        resolve(peer)
      })
    })
  }

  get localPort(): number {
    return this.socket.localPort ?? 0
  }

  get serverClosed(): boolean {
    return this.closeFrame !== null
  }

  /** Sends the bytes as one binary message; resolves once it was handed to the socket. */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.send(bytes, { binary: true }, (error) => (error ? reject(error) : resolve()))
    })
  }

  /** Sends a text message, which a zerostate server refuses with `text-message`. */
  writeText(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.send(text, { binary: false }, (error) => (error ? reject(error) : resolve()))
    })
  }

  /** One byte per message, with an I/O turn between messages. */
  async writeBytewise(bytes: Uint8Array): Promise<void> {
    for (let i = 0; i < bytes.length; i++) {
      await this.write(bytes.subarray(i, i + 1))
      await nextIO()
    }
  }

  /** A clean close: a close frame with 1000. */
  end(): void {
    this.ending ??= 'client'
    this.ws.close(1000, 'client-closed')
  }

  /** An abrupt close: an RST under the WebSocket, no close frame. */
  reset(): void {
    this.ending ??= 'client'
    this.socket.resetAndDestroy()
  }

  /** Ends the TCP connection with no close frame, as ws's terminate() does. */
  terminate(): void {
    this.ending ??= 'client'
    this.ws.terminate()
  }

  destroy(): void {
    this.ws.terminate()
  }

  pauseReading(): void {
    this.ws.pause()
  }

  resumeReading(): void {
    this.ws.resume()
  }

  async waitClosed(timeout = 2_000): Promise<void> {
    await waitFor(() => this.closed, { timeout, message: 'WebSocket closed by the server' })
  }
}
