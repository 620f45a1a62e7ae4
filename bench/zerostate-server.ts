/**
 * Child process: zerostate through its public API, echo handler, default options (handshake on,
 * heartbeats on). Started by bench/run.ts.
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
    listen: async () => (await server.listen({ host: '127.0.0.1', port: 0 })).port,
    get sessionCount() {
      return server.connectionCount
    },
    broadcast: (id, data) => server.broadcast({ id, data }),
    stop: () => server.stop(),
  }
})
