/**
 * The cluster's batches between two nodes (src/cluster/nodeOutbox.ts): what one turn posts to a
 * node travels as one message, records in order, and a malformed batch yields its whole records
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

  it('sends a batch early once it holds 256 KiB, keeping the order', () => {
    const sent: Uint8Array[] = []
    const outbox = new NodeOutbox('a', (_node, data) => sent.push(data))
    const body = new Uint8Array(100_000)
    for (let i = 0; i < 5; i++) outbox.add('b', RECORD.UNICAST, String(i), body.fill(i))
    outbox.flush()
    const heads = sent.flatMap((data) => read(data).map(({ head, body }) => [head, body[0]]))
    expect(sent.length).toBeGreaterThan(1)
    expect(heads).toEqual([0, 1, 2, 3, 4].map((i) => [String(i), i]))
    for (const data of sent) expect(data.length).toBeLessThanOrEqual(256 * 1024)
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
