/** Child process: the WebSocket ceiling (ws-ceiling.ts) under the bench harness. Started by bench/measure-websocket.ts. */
import { runServerChild } from './server-child.js'
import { WebSocketCeilingServer } from './ws-ceiling.js'

runServerChild((counter) => {
  const server = new WebSocketCeilingServer({ onConnect: () => counter.connected() })
  return {
    listen: () => server.listen('127.0.0.1', 0),
    get sessionCount() {
      return server.connectionCount
    },
    broadcast: (id, data) => server.broadcast(id, data),
    stop: () => server.stop(),
  }
})
