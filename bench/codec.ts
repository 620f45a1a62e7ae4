/**
 * Decode and encode of 64-byte payloads (76-byte frames; one case of 64 KiB ones) with the codec
 * as the server runs it (src/protocol, spanning frames joined into Buffers), and nothing else in
 * the process: a second codec in the same process shares the checksum loop and makes it
 * polymorphic, which is the very cost to watch for. Prints the median of the rounds, in
 * nanoseconds per frame. Run: npx tsx bench/codec.ts [--rounds 21]
 *
 *   decode, whole chunks   64 KiB chunks of whole frames (862 each), as a busy socket reads
 *   decode, 1460 B chunks  the same stream cut at every 1460 bytes: about one frame in 19 spans two
 *   decode, 38 B chunks    cut at every 38 bytes: every frame spans two or three chunks
 *   decode, 64 KiB frames  frames of 64 KiB payloads read in 64 KiB chunks: each spans two (bulk)
 *   encodeFrame            one frame in a buffer of its own (a broadcast)
 *   writeFrame             in place into a reused buffer (the server's outbound queue)
 */
import { FrameDecoder } from '../src/protocol/decoder.js'
import { encodeFrame, frameLength, writeFrame } from '../src/protocol/encoder.js'
import type { Message } from '../src/protocol/message.js'

const PAYLOAD = 64
const FRAMES_PER_CHUNK = Math.floor(65536 / frameLength(PAYLOAD))
const ENCODES = 100_000
const roundsFlag = process.argv.indexOf('--rounds')
const ROUNDS = roundsFlag > 0 ? Number(process.argv[roundsFlag + 1]) : 21

const data = Buffer.alloc(PAYLOAD, 0x5a)
const stream = Buffer.concat(Array.from({ length: FRAMES_PER_CHUNK }, (_, i) => encodeFrame(i, data)))

const BULK_FRAMES = 16
const bulkStream = Buffer.concat(Array.from({ length: BULK_FRAMES }, (_, i) => encodeFrame(i, Buffer.alloc(65536, i))))

function cut(step: number, bytes: Buffer = stream): Buffer[] {
  const chunks: Buffer[] = []
  // Each chunk in a buffer of its own, as a socket hands them out.
  for (let i = 0; i < bytes.length; i += step) chunks.push(Buffer.from(bytes.subarray(i, i + step)))
  return chunks
}

interface Decoder {
  push(chunk: Buffer, out: Message[]): unknown
}

/** ns per frame to decode `repeat` passes over `chunks` (`perPass` frames each) with a fresh decoder. */
function decode(make: () => Decoder, chunks: readonly Buffer[], repeat: number, perPass = FRAMES_PER_CHUNK): number {
  const decoder = make()
  const out: Message[] = []
  let frames = 0
  const start = process.hrtime.bigint()
  for (let r = 0; r < repeat; r++) {
    for (const chunk of chunks) {
      out.length = 0
      if (decoder.push(chunk, out) !== null) throw new Error('decode failed')
      frames += out.length
    }
  }
  const ns = Number(process.hrtime.bigint() - start)
  if (frames !== perPass * repeat) throw new Error(`decoded ${frames} frames`)
  return ns / frames
}

function encodeEach(encode: (id: number, data: Uint8Array) => Uint8Array): number {
  let sink = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < ENCODES; i++) sink += encode(i, data)[4]!
  const ns = Number(process.hrtime.bigint() - start)
  if (sink < 0) throw new Error('unreachable')
  return ns / ENCODES
}

function writeInPlace(write: (target: Buffer, offset: number, id: number, data: Uint8Array) => number): number {
  const target = Buffer.allocUnsafe(frameLength(PAYLOAD) * 64)
  const start = process.hrtime.bigint()
  for (let i = 0; i < ENCODES; i += 64) {
    let offset = 0
    for (let j = 0; j < 64; j++) offset = write(target, offset, i + j, data)
  }
  return Number(process.hrtime.bigint() - start) / ENCODES
}

const whole = [stream]
const mss = cut(1460)
const tiny = cut(38)
const bulk = cut(65536, bulkStream)
const decoder = () => new FrameDecoder(1 << 20, Buffer.allocUnsafe)
const cases: { name: string; run: () => number }[] = [
  { name: 'decode, whole chunks', run: () => decode(decoder, whole, 100) },
  { name: 'decode, 1460 B chunks', run: () => decode(decoder, mss, 100) },
  { name: 'decode, 38 B chunks', run: () => decode(decoder, tiny, 30) },
  { name: 'decode, 64 KiB frames', run: () => decode(decoder, bulk, 4, BULK_FRAMES) },
  { name: 'encodeFrame', run: () => encodeEach(encodeFrame) },
  { name: 'writeFrame', run: () => writeInPlace(writeFrame) },
]

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

// Warm-up: let the codec reach optimized code before anything is timed.
for (let i = 0; i < 3; i++) for (const c of cases) c.run()

console.log(`codec, ns per frame (${PAYLOAD}-byte payloads but for the 64 KiB case), median of ${ROUNDS} rounds (Node ${process.version})`)
for (const c of cases) {
  const rounds = Array.from({ length: ROUNDS }, () => c.run())
  console.log(`${c.name.padEnd(24)}${median(rounds).toFixed(1).padStart(10)}`)
}
