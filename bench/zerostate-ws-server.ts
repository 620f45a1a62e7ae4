/**
 * Child process: zerostate over WebSocket only (no TCP listener), through its public API, echo
 * handler, default options (handshake on, heartbeats on), as zerostate-server.ts is over TCP.
 * Started by bench/measure-websocket.ts.
 */
import { createServer } from '../src/index.js'
import { runServerChild } from './server-child.js'

runServerChild((counter) => {
  const server = createServer()
  server.onConnect(() => counter.connected())
  server.onMessage((session, message) => {
    session.send(message)
  })
  return {
    listen: async () => (await server.listen({ host: '127.0.0.1', port: false, webSocket: { port: 0 } })).webSocket.port,
    get sessionCount() {
      return server.connectionCount
    },
    broadcast: (id, data) => server.broadcast({ id, data }),
    stop: () => server.stop(),
  }
})
