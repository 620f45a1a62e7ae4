import { describe, expect, it } from 'vitest'
import { createActor, fromPromise } from 'xstate'
import { connectionMachine, type ConnectionInput, type VerifyInput } from '../../machines/connection.js'

const frame = { id: 1, data: new Uint8Array([1, 2, 3]) }

function start(input: Partial<ConnectionInput> = {}, verify?: (input: VerifyInput) => Promise<boolean>) {
  const calls: string[] = []
  const logic = connectionMachine.provide({
    actions: {
      activate: () => calls.push('activate'),
      probe: () => calls.push('probe'),
      release: ({ context }) => calls.push(`release:${context.reason}`),
    },
    actors: verify ? { verify: fromPromise<boolean, VerifyInput>(({ input }) => verify(input)) } : {},
  })
  const actor = createActor(logic, { input: { sessionId: 's1', ...input } })
  actor.start()
  return { actor, calls }
}

describe('connection machine', () => {
  it('starts in handshake and activates on the first frame without verify', () => {
    const { actor, calls } = start()
    expect(actor.getSnapshot().value).toEqual({ handshake: 'awaitingFrame' })
    actor.send({ type: 'frame.received', frame })
    expect(actor.getSnapshot().value).toBe('active')
    expect(calls).toEqual(['activate'])
  })

  it('is active on accept with handshake: false, as zero is', () => {
    const { actor, calls } = start({ handshake: false })
    expect(actor.getSnapshot().value).toBe('active')
    expect(calls).toEqual(['activate'])
  })

  it('closes with handshake-timeout when the sweep reports the deadline passed', () => {
    const { actor, calls } = start()
    actor.send({ type: 'handshake.timeout' })
    expect(actor.getSnapshot().value).toBe('closed')
    expect(actor.getSnapshot().context.reason).toBe('handshake-timeout')
    expect(actor.getSnapshot().status).toBe('done')
    expect(calls).toEqual(['release:handshake-timeout'])
  })

  it('ignores a late handshake deadline once the handshake completed', () => {
    const { actor } = start()
    actor.send({ type: 'frame.received', frame })
    actor.send({ type: 'handshake.timeout' })
    expect(actor.getSnapshot().value).toBe('active')
  })

  it('passes the first frame to verify and activates when it resolves true', async () => {
    const seen: VerifyInput[] = []
    const { actor, calls } = start({ verify: true }, async (input) => {
      seen.push(input)
      return true
    })
    actor.send({ type: 'frame.received', frame })
    expect(actor.getSnapshot().value).toEqual({ handshake: 'verifying' })
    await new Promise((resolve) => setImmediate(resolve))
    expect(seen).toEqual([{ sessionId: 's1', frame }])
    expect(actor.getSnapshot().value).toBe('active')
    expect(calls).toEqual(['activate'])
  })

  it.each([
    ['resolves false', async () => false],
    ['rejects', async () => Promise.reject(new Error('bad token'))],
  ])('closes with handshake-rejected when verify %s', async (_, verify) => {
    const { actor, calls } = start({ verify: true }, verify)
    actor.send({ type: 'frame.received', frame })
    await new Promise((resolve) => setImmediate(resolve))
    expect(actor.getSnapshot().context.reason).toBe('handshake-rejected')
    expect(calls).toEqual(['release:handshake-rejected'])
  })

  it('probes on a missed heartbeat and recovers on any frame', () => {
    const { actor, calls } = start({ handshake: false })
    actor.send({ type: 'heartbeat.missed' })
    expect(actor.getSnapshot().value).toBe('heartbeatMissed')
    actor.send({ type: 'frame.received', frame })
    expect(actor.getSnapshot().value).toBe('active')
    expect(calls).toEqual(['activate', 'probe'])
  })

  it.each(['active', 'heartbeatMissed'])('closes with heartbeat-timeout from %s', (from) => {
    const { actor, calls } = start({ handshake: false })
    if (from === 'heartbeatMissed') actor.send({ type: 'heartbeat.missed' })
    actor.send({ type: 'heartbeat.timeout' })
    expect(actor.getSnapshot().context.reason).toBe('heartbeat-timeout')
    expect(calls.at(-1)).toBe('release:heartbeat-timeout')
  })

  it.each([
    [{ type: 'socket.closed', reason: 'client-closed' }, 'client-closed'],
    [{ type: 'socket.closed', reason: 'reset' }, 'reset'],
    [{ type: 'frame.invalid', reason: 'bad-checksum' }, 'bad-checksum'],
    [{ type: 'frame.invalid', reason: 'frame-too-large' }, 'frame-too-large'],
    [{ type: 'outbound.overflow' }, 'slow-consumer'],
    [{ type: 'session.kick' }, 'kicked'],
    [{ type: 'server.stop' }, 'server-stopping'],
  ] as const)('closes on %o with %s from any open state', (event, reason) => {
    for (const handshake of [true, false]) {
      const { actor, calls } = start({ handshake })
      actor.send(event)
      expect(actor.getSnapshot().context.reason).toBe(reason)
      expect(calls.filter((call) => call.startsWith('release'))).toEqual([`release:${reason}`])
    }
  })

  it('ignores events once closed', () => {
    const { actor, calls } = start({ handshake: false })
    actor.send({ type: 'session.kick' })
    actor.send({ type: 'server.stop' })
    expect(actor.getSnapshot().context.reason).toBe('kicked')
    expect(calls).toEqual(['activate', 'release:kicked'])
  })
})
