/** Child process: the ceiling server under the bench harness. Started by bench/run.ts. */
import { CeilingServer } from './ceiling.js'
import { runServerChild } from './server-child.js'

runServerChild((counter) => {
  const server = new CeilingServer({ onConnect: () => counter.connected() })
  return {
    listen: () => server.listen('127.0.0.1', 0),
    get sessionCount() {
      return server.connectionCount
    },
    broadcast: (id, data) => server.broadcast(id, data),
    stop: () => server.stop(),
  }
})
