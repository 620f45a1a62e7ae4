import { describe, expect, it } from 'vitest'
import { createActor, fromPromise, SimulatedClock } from 'xstate'
import { supervisorMachine } from '../../machines/supervisor.js'

function start(drain: () => Promise<void> = async () => {}) {
  const clock = new SimulatedClock()
  const registry = new Map<string, { id: string }>()
  const calls: string[] = []
  const logic = supervisorMachine.provide({
    actions: {
      register: (_, { session }) => void registry.set(session.id, session),
      unregister: (_, { session }) => void registry.delete(session.id),
      stopAccepting: () => void calls.push('stopAccepting'),
      closeAll: () => {
        calls.push('closeAll')
        for (const session of [...registry.values()]) actor.send({ type: 'session.closed', session })
      },
    },
    actors: { drainGameLogic: fromPromise(drain) },
  })
  const actor = createActor(logic, { input: { drainTimeout: 500 }, clock })
  actor.start()
  return { actor, clock, registry, calls }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('supervisor machine', () => {
  it('listens, registers and unregisters sessions', () => {
    const { actor, registry } = start()
    actor.send({ type: 'server.listen' })
    actor.send({ type: 'server.listening' })
    expect(actor.getSnapshot().value).toBe('listening')
    actor.send({ type: 'session.opened', session: { id: 'a' } })
    actor.send({ type: 'session.opened', session: { id: 'b' } })
    expect(registry.size).toBe(2)
    expect(actor.getSnapshot().context.sessions).toBe(2)
    actor.send({ type: 'session.closed', session: { id: 'a' } })
    expect([...registry.keys()]).toEqual(['b'])
  })

  it('goes back to idle when listening fails', () => {
    const { actor } = start()
    actor.send({ type: 'server.listen' })
    actor.send({ type: 'server.failed' })
    expect(actor.getSnapshot().value).toBe('idle')
  })

  it('stops in order: stop accepting, drain, close every session, settle', async () => {
    const { actor, registry, calls } = start()
    actor.send({ type: 'server.listen' })
    actor.send({ type: 'server.listening' })
    actor.send({ type: 'session.opened', session: { id: 'a' } })
    actor.send({ type: 'server.stop' })
    expect(actor.getSnapshot().value).toBe('draining')
    await tick()
    await tick()
    expect(calls).toEqual(['stopAccepting', 'closeAll'])
    expect(registry.size).toBe(0)
    expect(actor.getSnapshot().value).toBe('stopped')
    expect(actor.getSnapshot().status).toBe('done')
  })

  it('bounds each drain step by drainTimeout on the injected clock', async () => {
    const { actor, clock } = start(() => new Promise<void>(() => {}))
    actor.send({ type: 'server.listen' })
    actor.send({ type: 'server.listening' })
    actor.send({ type: 'server.stop' })
    clock.increment(500)
    expect(actor.getSnapshot().value).toBe('settling')
    clock.increment(500)
    expect(actor.getSnapshot().value).toBe('stopped')
  })

  it('stops at once when it never listened', () => {
    const { actor } = start()
    actor.send({ type: 'server.stop' })
    expect(actor.getSnapshot().value).toBe('stopped')
  })
})
