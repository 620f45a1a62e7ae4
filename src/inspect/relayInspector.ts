import { createWebSocketInspector } from '@statelyai/inspect'
import { createInspectorServer } from '@statelyai/inspect/server'
import type { InspectionEvent, Observer } from 'xstate'

export interface RelayInspector {
  inspect: Observer<InspectionEvent>
  /** The page to open in a browser: it embeds the Stately inspector and feeds it from the relay. */
  pageUrl: string | null
  stop(): void
}

/**
 * Starts the local relay of `@statelyai/inspect/server` on `port` (without opening a browser) and
 * feeds it. With `url`, feeds a relay that is already running instead.
 */
export function createRelayInspector(options: { port: number } | { url: string }): RelayInspector {
  const relay = 'port' in options ? createInspectorServer({ port: options.port, autoOpen: false }) : null
  const url = 'url' in options ? options.url : `ws://localhost:${options.port}`
  const inspector = createWebSocketInspector({ url })
  return {
    inspect: inspector.inspect,
    pageUrl: 'port' in options ? `http://localhost:${options.port}` : null,
    stop() {
      inspector.stop()
      relay?.stop()
    },
  }
}
