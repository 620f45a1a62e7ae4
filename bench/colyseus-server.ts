/**
 * Child process: Colyseus 0.18 (@colyseus/core on @colyseus/ws-transport, its defaults otherwise:
 * local presence and driver, ws pings every 3 s) with one echo room, the way a user who picked
 * Colyseus instead of zerostate would write it: each byte message a client sends with
 * `room.sendBytes` is sent back to that client with `client.sendBytes`. Started by
 * bench/measure-websocket.ts; its timed loads come from the compiled generator over Colyseus'
 * protocol (bench/cgen/zload.c, proto colyseus), its idle pool from Colyseus' SDK (bench/load/ws-peers.ts).
 */
import { type Client, Room, Server } from '@colyseus/core'
import { WebSocketTransport } from '@colyseus/ws-transport'
import { runServerChild } from './server-child.js'

/** The echo room's name, which the generator joins (joinOrCreate). */
export const COLYSEUS_ROOM = 'echo'
/** Colyseus' message type for the echoed bytes: the id zero frames carry in the bench. */
const ECHO_TYPE = 1

runServerChild((counter) => {
  let sessions = 0
  const rooms = new Set<EchoRoom>()

  class EchoRoom extends Room {
    // Every bench session in one room: a seat limit would only spread them over more rooms.
    override maxClients = 1_000_000

    override onCreate(): void {
      rooms.add(this)
      this.onMessageBytes(ECHO_TYPE, (client: Client, bytes: Uint8Array) => client.sendBytes(ECHO_TYPE, bytes))
    }

    override onJoin(): void {
      sessions++
      counter.connected()
    }

    override onLeave(): void {
      sessions--
    }

    override onDispose(): void {
      rooms.delete(this)
    }
  }

  const transport = new WebSocketTransport()
  const server = new Server({ transport, greet: false })
  server.define(COLYSEUS_ROOM, EchoRoom)

  return {
    listen: async () => {
      await server.listen(0, '127.0.0.1')
      const address = transport.server?.address()
      if (typeof address !== 'object' || address === null) throw new Error('colyseus: no TCP address after listen')
      return address.port
    },
    get sessionCount() {
      return sessions
    },
    broadcast: (id, data) => {
      let reached = 0
      for (const room of rooms) {
        room.broadcastBytes(id, data, {})
        reached += room.clients.length
      }
      return reached
    },
    stop: () => server.gracefullyShutdown(false),
  }
})
