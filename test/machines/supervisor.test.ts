import { describe, expect, it } from 'vitest'
import { createActor, fromPromise, SimulatedClock } from 'xstate'
import { supervisorMachine } from '../../machines/supervisor.js'

/** The supervisor with a server's part played by hand: a registry of sessions that `closeAll` empties. */
function start(drain: () => Promise<void> = async () => {}) {
  const clock = new SimulatedClock()
  const registry = new Set<string>()
  const calls: string[] = []
  const logic = supervisorMachine.provide({
    actions: {
      stopAccepting: () => void calls.push('stopAccepting'),
      closeAll: () => {
        calls.push('closeAll')
        registry.clear()
        actor.send({ type: 'registry.empty' })
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
  it('listens', () => {
    const { actor } = start()
    actor.send({ type: 'server.listen' })
    actor.send({ type: 'server.listening' })
    expect(actor.getSnapshot().value).toBe('listening')
  })

  it('hears that the registry is empty only while it closes the sessions', () => {
    const { actor } = start()
    actor.send({ type: 'server.listen' })
    actor.send({ type: 'server.listening' })
    actor.send({ type: 'registry.empty' })
    expect(actor.getSnapshot().value).toBe('listening')
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
    registry.add('a')
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
