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
 * which turns XState's inspection events into what the Stately inspector reads.
 */
export async function startRelayInspector(target: RelayTarget, stately: StatelyInspect): Promise<RelayInspector> {
  const relay = 'url' in target ? null : await startInspectorRelay(target)
  const url = relay?.feedUrl ?? (target as { url: string }).url
  const inspector = stately.createWebSocketInspector({ url })
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
