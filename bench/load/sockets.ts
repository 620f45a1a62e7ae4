import net from 'node:net'
import { encodeFrame, frameLength } from '../../src/protocol/encoder.js'

export const SERVER_HOST = '127.0.0.1'
/** Id of every frame the generator sends; echoes carry it back. */
export const ECHO_ID = 1

export function openSocket(port: number, localAddress?: string): net.Socket {
  const socket = localAddress
    ? net.connect({ host: SERVER_HOST, port, localAddress, noDelay: true })
    : net.connect({ host: SERVER_HOST, port, noDelay: true })
  return socket
}

/**
 * Closes with a RST rather than a FIN. The generator is the side that closes, and each FIN close
 * would park one of its ephemeral ports in TIME_WAIT for 60 s; a full run opens ~100k connections.
 */
export function resetSocket(socket: net.Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy()
}

/** `count` copies of one frame back to back, encoded before any measurement starts. */
export function precomputedFrames(payloadSize: number, count: number): { buffer: Buffer; frameBytes: number } {
  const frame = encodeFrame(ECHO_ID, new Uint8Array(payloadSize).fill(0x61))
  const frameBytes = frameLength(payloadSize)
  const buffer = Buffer.allocUnsafe(frameBytes * count)
  for (let i = 0; i < count; i++) frame.copy(buffer, i * frameBytes)
  return { buffer, frameBytes }
}

/** Counts how many sockets closed before the generator closed them, with the first error seen. */
export class CloseTracker {
  unexpected = 0
  firstError: string | null = null
  closing = false

  watch(socket: net.Socket): void {
    socket.on('error', (error: Error) => {
      this.firstError ??= error.message
    })
    socket.on('close', () => {
      if (!this.closing) this.unexpected++
    })
  }

  /** Throws if any watched socket closed on its own. */
  check(what: string): void {
    if (this.unexpected > 0) {
      throw new Error(`${what}: ${this.unexpected} connection(s) closed by the server${this.firstError ? ` (${this.firstError})` : ''}`)
    }
  }
}
