import type { AnyActorRef, InspectionEvent, Observer } from 'xstate'

/** What an inspector sees in place of payload bytes. */
export interface BytesSummary {
  bytes: number
}

type Inspect = Observer<InspectionEvent> | ((event: InspectionEvent) => void)

/**
 * Wraps an inspector so that no payload bytes reach it: it gets a copy of each inspection event
 * in which every `Uint8Array` (a frame's data, the `verify` credential in the first frame, in the
 * verify invoke's input and in its snapshot) is `{ bytes: <length> }`. The objects XState passes
 * are never changed, since the actors keep using them.
 *
 * The copy reaches into plain objects and arrays (events, snapshots, contexts, action params) and
 * into the actors the event names: `actorRef.getSnapshot()` on the copy returns a copied snapshot,
 * since inspectors such as Stately's read an actor's snapshot later, when it may hold an input.
 * Class instances other than actors (a session, an error, the machine) and a microstep's transition
 * definitions are passed as they are.
 */
export function withoutPayloads(inspect: Inspect): Observer<InspectionEvent> {
  const next = typeof inspect === 'function' ? inspect : (event: InspectionEvent) => inspect.next?.(event)
  const actors = new WeakMap<object, AnyActorRef>()
  return {
    next: (event) => next(redactEvent(event, actors)),
    error: typeof inspect === 'function' ? undefined : (error) => inspect.error?.(error),
    complete: typeof inspect === 'function' ? undefined : () => inspect.complete?.(),
  }
}

/**
 * A shallow copy of the inspection event whose data (event, snapshot, action, actors) is redacted.
 * A microstep's `_transitions` are the machine's own definitions and hold no data: they are passed
 * as they are, so an inspector can still find them in the machine.
 */
function redactEvent(event: InspectionEvent, actors: WeakMap<object, AnyActorRef>): InspectionEvent {
  const copies = new Map<object, unknown>()
  const copy: Record<string, unknown> = { ...event }
  for (const key of Object.keys(copy)) {
    if (key !== '_transitions') copy[key] = redact(copy[key], copies, actors)
  }
  return copy as unknown as InspectionEvent
}

/**
 * The copy of `value` with bytes summarised. `copies` holds what this event has copied so far, so
 * shared and cyclic references come out shared and cyclic; `actors` holds each actor's stand-in
 * across events, so an inspector that keys by actor sees one object per actor.
 */
function redact(value: unknown, copies: Map<object, unknown>, actors: WeakMap<object, AnyActorRef>): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (value instanceof Uint8Array) return { bytes: value.byteLength } satisfies BytesSummary
  const done = copies.get(value)
  if (done !== undefined) return done
  if (Array.isArray(value)) {
    const copy: unknown[] = []
    copies.set(value, copy)
    for (const item of value) copy.push(redact(item, copies, actors))
    return copy
  }
  if (isActorRef(value)) return standIn(value, actors)
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value
  // Property descriptors, not values: a snapshot's methods and getters stay what they are.
  const copy: Record<PropertyKey, unknown> = Object.create(proto as object | null)
  copies.set(value, copy)
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Reflect.getOwnPropertyDescriptor(value, key)!
    if ('value' in descriptor) descriptor.value = redact(descriptor.value, copies, actors)
    Reflect.defineProperty(copy, key, descriptor)
  }
  return copy
}

function isActorRef(value: object): value is AnyActorRef {
  return typeof (value as { getSnapshot?: unknown }).getSnapshot === 'function' && typeof (value as { sessionId?: unknown }).sessionId === 'string'
}

/**
 * The actor as the inspector sees it: everything forwarded to the real actor (reads, writes and
 * method calls), except that its snapshot and its options (which hold its input) come copied.
 */
function standIn(actor: AnyActorRef, actors: WeakMap<object, AnyActorRef>): AnyActorRef {
  let proxy = actors.get(actor)
  if (proxy === undefined) {
    const getSnapshot = () => redact(actor.getSnapshot(), new Map(), actors)
    proxy = new Proxy(actor, {
      get(target, key) {
        if (key === 'getSnapshot') return getSnapshot
        const value: unknown = Reflect.get(target, key, target)
        if (key === 'options') return redact(value, new Map(), actors)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    actors.set(actor, proxy)
  }
  return proxy
}
