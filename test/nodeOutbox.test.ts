/**
 * The cluster's batches between two nodes (src/cluster/nodeOutbox.ts): what one turn posts to a
 * node travels as one message, records in order, one frame for several sessions of a node once,
 * and a malformed batch yields its whole records
 * and nothing after them, without throwing.
 */
import { describe, expect, it } from 'vitest'
import { NodeOutbox, readRecords, RECORD, type RecordKind } from '../src/cluster/nodeOutbox.js'

type Read = { from: string; kind: RecordKind; head: string; body: number[] }

function read(data: Uint8Array): Read[] {
  const out: Read[] = []
  readRecords(data, (from, kind, head, body) => out.push({ from, kind, head, body: [...body] }))
  return out
}

describe('NodeOutbox', () => {
  it('sends what one turn posts to a node as one batch, in order, one batch per node', async () => {
    const sent: { node: string; data: Uint8Array }[] = []
    const outbox = new NodeOutbox('a', (node, data) => sent.push({ node, data }))
    outbox.add('b', RECORD.UNICAST, 'session-1', Uint8Array.of(1, 2))
    outbox.add('c', RECORD.CONTROL, '', Buffer.from('{"t":"x"}'))
    outbox.add('b', RECORD.PLAYER, 'session-1 room-é', Uint8Array.of(3))
    expect(sent).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(sent.map(({ node }) => node)).toEqual(['b', 'c'])
    expect(read(sent[0]!.data)).toEqual([
      { from: 'a', kind: RECORD.UNICAST, head: 'session-1', body: [1, 2] },
      { from: 'a', kind: RECORD.PLAYER, head: 'session-1 room-é', body: [3] },
    ])
    expect(read(sent[1]!.data)).toEqual([{ from: 'a', kind: RECORD.CONTROL, head: '', body: [...Buffer.from('{"t":"x"}')] }])
  })

  it('writes one frame posted for several sessions of a node in a row once, as a MULTICAST record, in order with the rest', () => {
    const sent: { node: string; data: Uint8Array }[] = []
    const outbox = new NodeOutbox('a', (node, data) => sent.push({ node, data }))
    const shared = Uint8Array.of(7, 7)
    outbox.add('b', RECORD.UNICAST, 's1', shared)
    outbox.add('c', RECORD.UNICAST, 's9', shared)
    outbox.add('b', RECORD.UNICAST, 's2', shared)
    outbox.add('b', RECORD.UNICAST, 's3', Uint8Array.of(7, 7))
    outbox.add('b', RECORD.UNICAST, 's4', shared)
    outbox.add('b', RECORD.UNICAST, 's5', shared)
    outbox.add('b', RECORD.CONTROL, '', Uint8Array.of(1))
    outbox.add('b', RECORD.UNICAST, 's6', shared)
    outbox.flush()
    expect(read(sent.find(({ node }) => node === 'b')!.data)).toEqual([
      { from: 'a', kind: RECORD.MULTICAST, head: 's1 s2', body: [7, 7] },
      // An equal frame in another buffer is another frame.
      { from: 'a', kind: RECORD.UNICAST, head: 's3', body: [7, 7] },
      { from: 'a', kind: RECORD.MULTICAST, head: 's4 s5', body: [7, 7] },
      { from: 'a', kind: RECORD.CONTROL, head: '', body: [1] },
      { from: 'a', kind: RECORD.UNICAST, head: 's6', body: [7, 7] },
    ])
    expect(read(sent.find(({ node }) => node === 'c')!.data)).toEqual([{ from: 'a', kind: RECORD.UNICAST, head: 's9', body: [7, 7] }])
  })

  it('starts a new MULTICAST record before a head would pass 65,535 bytes', () => {
    const sent: Uint8Array[] = []
    const outbox = new NodeOutbox('a', (_node, data) => sent.push(data))
    const frame = Uint8Array.of(1)
    const ids = Array.from({ length: 3_000 }, (_, i) => `${String(i).padStart(4, '0')}-${'x'.repeat(31)}`)
    for (const id of ids) outbox.add('b', RECORD.UNICAST, id, frame)
    outbox.flush()
    const records = sent.flatMap(read)
    expect(records.length).toBe(2)
    for (const { head } of records) expect(Buffer.byteLength(head)).toBeLessThanOrEqual(0xffff)
    expect(records.flatMap(({ head }) => head.split(' '))).toEqual(ids)
  })

  it('sends a batch early once it holds 256 KiB, keeping the order', () => {
    const sent: Uint8Array[] = []
    const outbox = new NodeOutbox('a', (_node, data) => sent.push(data))
    for (let i = 0; i < 5; i++) outbox.add('b', RECORD.UNICAST, String(i), new Uint8Array(100_000).fill(i))
    outbox.flush()
    const heads = sent.flatMap((data) => read(data).map(({ head, body }) => [head, body[0]]))
    expect(sent.length).toBeGreaterThan(1)
    expect(heads).toEqual([0, 1, 2, 3, 4].map((i) => [String(i), i]))
    for (const data of sent) expect(data.length).toBeLessThanOrEqual(256 * 1024)
  })

  it('refuses a record too large for one NATS message, and sends early what would pass a small limit', () => {
    const sent: Uint8Array[] = []
    const outbox = new NodeOutbox('a', (_node, data) => sent.push(data), 1_000)
    expect(outbox.add('b', RECORD.UNICAST, 's1', new Uint8Array(1_000 - 2 - 7 - 2 + 1))).toBe(false)
    expect(outbox.add('b', RECORD.PLAYER, 's1 r1', new Uint8Array(2_000))).toBe(false)
    expect(outbox.add('b', RECORD.UNICAST, 's1', new Uint8Array(600))).toBe(true)
    expect(outbox.add('b', RECORD.UNICAST, 's2', new Uint8Array(600))).toBe(true)
    outbox.flush()
    expect(sent.map(read).map((records) => records.map(({ head }) => head))).toEqual([['s1'], ['s2']])
    for (const data of sent) expect(data.length).toBeLessThanOrEqual(1_000)
  })

  it('reads the whole records of a cut or corrupt batch and stops there, without throwing', () => {
    const sent: Uint8Array[] = []
    const outbox = new NodeOutbox('a', (_node, data) => sent.push(data))
    outbox.add('b', RECORD.UNICAST, 's1', Uint8Array.of(1))
    outbox.add('b', RECORD.UNICAST, 's2', Uint8Array.of(2, 2, 2))
    outbox.flush()
    const whole = sent[0]!
    expect(read(whole.subarray(0, whole.length - 1)).map(({ head }) => head)).toEqual(['s1'])
    const badKind = Uint8Array.from(whole)
    badKind[2 + 7 + 2 + 1] = 99
    expect(read(badKind).map(({ head }) => head)).toEqual(['s1'])
    expect(read(new Uint8Array(0))).toEqual([])
    expect(read(Uint8Array.of(200, 1, 2))).toEqual([])
  })
})
