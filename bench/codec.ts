/**
 * Decode and encode of 64-byte payloads (76-byte frames; one case of 64 KiB ones), the Buffer
 * codec it replaced (bench/codecBaseline.ts) and the Uint8Array codec (src/protocol) side by side
 * in one process, rounds interleaved so drift of the machine hits both alike. Prints the median of the rounds, in
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
import { BufferFrameDecoder, encodeFrameBuffer, writeFrameBuffer } from './codecBaseline.js'

const PAYLOAD = 64
const FRAMES_PER_CHUNK = Math.floor(65536 / frameLength(PAYLOAD))
const ENCODES = 100_000
const roundsFlag = process.argv.indexOf('--rounds')
const ROUNDS = roundsFlag > 0 ? Number(process.argv[roundsFlag + 1]) : 21

const data = Buffer.alloc(PAYLOAD, 0x5a)
const stream = Buffer.concat(Array.from({ length: FRAMES_PER_CHUNK }, (_, i) => encodeFrameBuffer(i, data)))

const BULK_FRAMES = 16
const bulkStream = Buffer.concat(Array.from({ length: BULK_FRAMES }, (_, i) => encodeFrameBuffer(i, Buffer.alloc(65536, i))))

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
type Case = { name: string; before: () => number; after: () => number }
const cases: Case[] = [
  { name: 'decode, whole chunks', before: () => decode(() => new BufferFrameDecoder(1 << 20), whole, 100), after: () => decode(() => new FrameDecoder(1 << 20), whole, 100) },
  { name: 'decode, 1460 B chunks', before: () => decode(() => new BufferFrameDecoder(1 << 20), mss, 100), after: () => decode(() => new FrameDecoder(1 << 20), mss, 100) },
  { name: 'decode, 38 B chunks', before: () => decode(() => new BufferFrameDecoder(1 << 20), tiny, 30), after: () => decode(() => new FrameDecoder(1 << 20), tiny, 30) },
  { name: 'decode, 64 KiB frames', before: () => decode(() => new BufferFrameDecoder(1 << 20), bulk, 4, BULK_FRAMES), after: () => decode(() => new FrameDecoder(1 << 20), bulk, 4, BULK_FRAMES) },
  { name: 'encodeFrame', before: () => encodeEach(encodeFrameBuffer), after: () => encodeEach(encodeFrame) },
  { name: 'writeFrame', before: () => writeInPlace(writeFrameBuffer), after: () => writeInPlace(writeFrame) },
]

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

// Warm-up: let both codecs reach optimized code before anything is timed.
for (let i = 0; i < 3; i++) for (const c of cases) c.before(), c.after()

console.log(`codec, ns per frame (${PAYLOAD}-byte payloads but for the 64 KiB case), median of ${ROUNDS} interleaved rounds (Node ${process.version})`)
console.log(`${'case'.padEnd(24)}${'Buffer (before)'.padStart(16)}${'Uint8Array (after)'.padStart(20)}${'after/before'.padStart(14)}`)
for (const c of cases) {
  const before: number[] = []
  const after: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so neither always runs on a warmer or colder machine.
    if (r % 2 === 0) before.push(c.before()), after.push(c.after())
    else after.push(c.after()), before.push(c.before())
  }
  const b = median(before)
  const a = median(after)
  console.log(`${c.name.padEnd(24)}${b.toFixed(1).padStart(16)}${a.toFixed(1).padStart(20)}${(a / b).toFixed(2).padStart(14)}`)
}
