import { describe, expect, it } from 'vitest'
import { createActor, type InspectionEvent } from 'xstate'
import { connectionMachine } from '../machines/connection.js'
import { ConnectionFactory, type ConnectionSettings, connectionRegistry } from '../src/connectionFactory.js'

const frame = { id: 1, data: new Uint8Array([1]) }

function recording() {
  const calls: string[] = []
  const logic = connectionMachine.provide({
    actions: {
      activate: ({ context }) => calls.push(`activate:${context.sessionId}`),
      probe: () => calls.push('probe'),
      release: ({ context }) => calls.push(`release:${context.sessionId}:${context.reason}`),
    },
  })
  return { calls, logic }
}

function factory(settings: ConnectionSettings, inspect?: (event: InspectionEvent) => void) {
  const { calls, logic } = recording()
  const errors: unknown[] = []
  const registry = createActor(connectionRegistry, { inspect, id: 'registry' }).start()
  const connections = new ConnectionFactory(logic, settings, registry)
  const create = (sessionId: string) => connections.create(sessionId, { error: (error) => errors.push(error) }).start()
  return { calls, errors, create }
}

describe('connection registry', () => {
  it('counts the connections alive: up on connection.opened, down as each child actor ends', () => {
    const registry = createActor(connectionRegistry).start()
    const logic = recording().logic
    const connections = new ConnectionFactory(logic, { handshake: true, verify: false }, registry)
    const a = connections.create('a', {}).start()
    const b = connections.create('b', {}).start()
    registry.send({ type: 'connection.opened' })
    registry.send({ type: 'connection.opened' })
    expect(registry.getSnapshot().context).toBe(2)
    a.send({ type: 'session.kick' })
    expect(registry.getSnapshot().context).toBe(1)
    expect(a.system).toBe(registry.system)
    expect(b.system, 'every connection in the registry\'s one system').toBe(registry.system)
  })
})

describe('connection factory', () => {
  it('relies on a chart whose handshake is entered with no action run and nothing invoked', () => {
    // The factory's premise, checked on the chart itself: should the handshake ever get an entry
    // action or an invoke, a restored actor would skip it, and this fails.
    const actions: string[] = []
    const actor = createActor(connectionMachine, {
      input: { sessionId: 's', handshake: true, verify: true },
      inspect: (event) => {
        if (event.type === '@xstate.action') actions.push(event.action.type)
      },
    }).start()
    expect(actor.getSnapshot().value).toEqual({ handshake: 'awaitingFrame' })
    expect(actions).toEqual([])
    expect(actor.getSnapshot().children).toEqual({})
  })

  it('starts each session in the state and context a fresh actor has, with its own id', () => {
    const { create } = factory({ handshake: true, verify: false })
    const fresh = createActor(connectionMachine, { input: { sessionId: 'a', handshake: true, verify: false } }).start()
    const restored = create('a')
    expect(restored.getSnapshot().value).toEqual(fresh.getSnapshot().value)
    expect(restored.getSnapshot().context).toEqual(fresh.getSnapshot().context)
    expect(restored.id).toBe('session:a')
  })

  it('runs a restored session through its handshake and close like a fresh one, each on its own context', () => {
    const { calls, create, errors } = factory({ handshake: true, verify: false })
    const a = create('a')
    const b = create('b')
    a.send({ type: 'frame.received', frame })
    b.send({ type: 'session.kick' })
    expect(a.getSnapshot().value).toBe('active')
    expect(b.getSnapshot().value).toBe('closed')
    expect(a.getSnapshot().context.reason).toBeNull()
    expect(calls).toEqual(['activate:a', 'release:b:kicked'])
    expect(errors).toEqual([])
  })

  it('gives each restored session children of its own: one verifying invokes for itself alone', () => {
    const { create } = factory({ handshake: true, verify: true })
    const a = create('a')
    const b = create('b')
    a.send({ type: 'frame.received', frame })
    expect(a.getSnapshot().value).toEqual({ handshake: 'verifying' })
    expect(Object.keys(a.getSnapshot().children)).toHaveLength(1)
    expect(b.getSnapshot().children).toEqual({})
    expect(create('c').getSnapshot().children).toEqual({})
  })

  it('feeds restored sessions to the inspector like fresh ones', () => {
    const seen: unknown[] = []
    const { create } = factory({ handshake: true, verify: false }, ({ type, actorRef, snapshot }: InspectionEvent & { snapshot?: object }) => {
      if (type === '@xstate.snapshot' && 'id' in actorRef && actorRef.id === 'session:a' && snapshot && 'value' in snapshot) seen.push(snapshot.value)
    })
    create('a').send({ type: 'frame.received', frame })
    expect(seen).toEqual([{ handshake: 'awaitingFrame' }, 'active'])
  })

  it('gives each session a fresh start with the handshake off, which activates it', () => {
    const { calls, create } = factory({ handshake: false, verify: false })
    expect(create('a').getSnapshot().value).toBe('active')
    expect(create('b').getSnapshot().value).toBe('active')
    expect(calls).toEqual(['activate:a', 'activate:b'])
  })
})
