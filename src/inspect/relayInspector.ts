import type { StatelyInspectionEvent } from '@statelyai/inspect'
import type { InspectionEvent, Observer } from 'xstate'
import { type InspectorRelay, startInspectorRelay } from './inspectorRelay.js'
import type { StatelyInspect } from './statelyInspect.js'

export interface RelayInspector {
  inspect: Observer<InspectionEvent>
  /** The relay this process started, or null when it feeds one that runs elsewhere. */
  relay: InspectorRelay | null
  /** Where the inspection goes: the relay's WebSocket URL. */
  url: string
  stop(): Promise<void>
}

export type RelayTarget = { host: string; port: number } | { url: string }

/**
 * With `{ host, port }`, starts a relay there ({@link startInspectorRelay}: rejects with the bind
 * error) and feeds it; with `{ url }`, feeds a relay that is already running. The feeding is
 * `@statelyai/inspect`'s WebSocket inspector, passed in as `stately` (see `importStatelyInspect`),
 * which turns XState's inspection events into what the Stately inspector reads. With `node` (a
 * cluster node's id), every actor's name and ids start with `<node>/`, so that the nodes of a
 * cluster can feed one relay and their actors stay apart.
 */
export async function startRelayInspector(target: RelayTarget, stately: StatelyInspect, options: { node?: string } = {}): Promise<RelayInspector> {
  const relay = 'url' in target ? null : await startInspectorRelay(target)
  const url = relay?.feedUrl ?? (target as { url: string }).url
  const inspector = stately.createWebSocketInspector({ url, ...(options.node === undefined ? {} : { serialize: onNode(options.node) }) })
  return {
    inspect: inspector.inspect,
    relay,
    url,
    async stop() {
      inspector.stop()
      await relay?.close()
    },
  }
}

/** Puts `<node>/` before each actor's name and ids; twice is once (the adapter may apply it again to events it deferred). */
function onNode(node: string): (event: StatelyInspectionEvent) => StatelyInspectionEvent {
  const prefix = `${node}/`
  const tag = <T extends string | undefined>(id: T): T => (id === undefined || id.startsWith(prefix) ? id : (`${prefix}${id}` as T))
  return (event) => {
    switch (event.type) {
      case '@xstate.actor':
        return { ...event, name: tag(event.name), sessionId: tag(event.sessionId), rootId: tag(event.rootId), parentId: tag(event.parentId) }
      case '@xstate.event':
        return { ...event, sessionId: tag(event.sessionId), rootId: tag(event.rootId), sourceId: tag(event.sourceId) }
      default:
        return { ...event, sessionId: tag(event.sessionId), rootId: tag(event.rootId) }
    }
  }
}
