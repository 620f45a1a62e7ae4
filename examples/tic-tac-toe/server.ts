// Tic-tac-toe for two, on TCP and WebSocket: `npx tsx examples/tic-tac-toe/server.ts`.
// Clients join with the room control frame JOIN {"name":"tictactoe"} and then send MOVE frames.
import { createServer } from '../../src/index.js'
import { ticTacToeRoom } from './ticTacToeRoom.js'

const server = createServer()
server.room('tictactoe', { machine: ticTacToeRoom, maxPlayers: 2 })
server.onDisconnect((session, error) => console.log(`${session.id} left: ${error.code}`))
const port = Number(process.env.PORT ?? 18787)
const address = await server.listen({ port, webSocket: { port: port === 0 ? 0 : port + 2 } })
console.log(`tic-tac-toe on ${address.host}:${address.port} and ${address.webSocket.url}`)
process.once('SIGTERM', () => void server.stop())
