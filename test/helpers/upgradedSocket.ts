/**
 * A WebSocket spoken by hand: a `node:net` socket that sends its own upgrade request and then
 * writes raw WebSocket frames, so a test can break the protocol as `ws` never would (an unmasked
 * client frame, a header that declares a huge message and sends a few bytes). It parses the
 * server's frames (unmasked, RFC 6455 §5.2) far enough to find the close frame's code and text.
 */
import { randomBytes } from 'node:crypto'
import { connect as connectSocket, type Socket } from 'node:net'
import { waitFor } from './wait.js'

const open = new Set<UpgradedSocket>()

/** Destroys every hand-made WebSocket still open (from the harness's cleanup). */
export function destroyUpgradedSockets(): void {
  for (const socket of open) socket.socket.destroy()
  open.clear()
}

/** The WebSocket opcodes the tests write. */
export const OPCODE = { text: 0x1, binary: 0x2, close: 0x8 } as const

/**
 * One client frame with FIN set: `mask` false leaves it unmasked (a protocol error from a client);
 * `declaredLength` overrides the length field, to declare more than is sent.
 */
export function clientFrame(opcode: number, payload: Uint8Array, options: { mask?: boolean; declaredLength?: number } = {}): Buffer {
  const { mask = true, declaredLength = payload.length } = options
  const head: number[] = [0x80 | opcode]
  const maskBit = mask ? 0x80 : 0
  if (declaredLength < 126) head.push(maskBit | declaredLength)
  else if (declaredLength < 0x10000) head.push(maskBit | 126, declaredLength >> 8, declaredLength & 0xff)
  else {
    const length = Buffer.alloc(8)
    length.writeBigUInt64BE(BigInt(declaredLength))
    head.push(maskBit | 127, ...length)
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload])
  const key = randomBytes(4)
  const masked = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!))
  return Buffer.concat([Buffer.from(head), key, masked])
}

export class UpgradedSocket {
  /** The response head, status line first. */
  response = ''
  /** The server's close frame, once it came. */
  closeFrame: { code: number; reason: string } | null = null
  closed = false
  private frames: Buffer = Buffer.alloc(0)

  private constructor(readonly socket: Socket) {
    socket.on('close', () => {
      this.closed = true
      open.delete(this)
    })
    socket.on('error', () => {})
  }

  /** Upgrades `url` (ws://127.0.0.1:port/path) by hand and resolves once the server answered 101. */
  static open(url: string): Promise<UpgradedSocket> {
    const { hostname, port, pathname, search } = new URL(url)
    return new Promise((resolve, reject) => {
      const socket = connectSocket({ host: hostname, port: Number(port), noDelay: true })
      const peer = new UpgradedSocket(socket)
      open.add(peer)
      let head = Buffer.alloc(0)
      const onData = (chunk: Buffer): void => {
        if (peer.response !== '') return peer.receive(chunk)
        head = Buffer.concat([head, chunk])
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        peer.response = head.subarray(0, end).toString()
        if (!peer.response.startsWith('HTTP/1.1 101')) return reject(new Error(`upgrade refused: ${peer.response.split('\r\n')[0]}`))
        peer.receive(head.subarray(end + 4))
        resolve(peer)
      }
      socket.on('data', onData)
      socket.once('error', reject)
      socket.once('connect', () => {
        const key = randomBytes(16).toString('base64')
        socket.write(
          `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        )
      })
    })
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve())))
  }

  async waitClosed(timeout = 2_000): Promise<void> {
    await waitFor(() => this.closed, { timeout, message: 'the hand-made WebSocket closed by the server' })
  }

  /** Parses the server's frames; only the close frame is kept. */
  private receive(chunk: Buffer): void {
    this.frames = Buffer.concat([this.frames, chunk])
    for (;;) {
      const buf = this.frames
      if (buf.length < 2) return
      let length = buf[1]! & 0x7f
      let at = 2
      if (length === 126) {
        if (buf.length < 4) return
        length = buf.readUInt16BE(2)
        at = 4
      } else if (length === 127) {
        if (buf.length < 10) return
        length = Number(buf.readBigUInt64BE(2))
        at = 10
      }
      if (buf.length < at + length) return
      const payload = buf.subarray(at, at + length)
      if ((buf[0]! & 0x0f) === OPCODE.close) {
        this.closeFrame = payload.length >= 2 ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() } : { code: 1005, reason: '' }
      }
      this.frames = buf.subarray(at + length)
    }
  }
}
