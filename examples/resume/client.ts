// Pings the echo game once a second and prints each echo. Cut its connection (unplug, sleep the
// laptop, kill the route) and it reports `dropped`, comes back, and no ping or echo is lost.
import { connect } from '../../src/index.js'

const client = await connect({ port: Number(process.env.PORT ?? 18787), resume: true })
client.onStatus((status) => console.log(`connection ${status}`))
client.onMessage((message) => console.log(`echo: ${Buffer.from(message.data)}`))
let n = 0
const timer = setInterval(() => client.send({ id: 1, data: Buffer.from(`ping ${n++}`) }), Number(process.env.EVERY ?? 1_000))
process.once('SIGTERM', () => {
  clearInterval(timer)
  void client.close()
})
