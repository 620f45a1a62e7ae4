import type net from 'node:net'
import { Client as ColyseusClient, type Room as ColyseusRoom } from '@colyseus/sdk'
import WebSocket, { type RawData } from 'ws'
import { HEARTBEAT_FRAME } from '../../src/protocol/encoder.js'
import { FrameScanner } from '../frame-scanner.js'
import type { WsTarget } from '../messages.js'
import { ECHO_ID, precomputedFrames, SERVER_HOST } from './sockets.js'

/** What a peer tells its load. */
export interface PeerEvents {
  /** `count` echoes arrived (zero: data frames in one message; Colyseus: one message). */
  echoes(count: number): void
  /** The connection closed; the load knows whether it asked for that. */
  closed(): void
}

/** One session of a WebSocket load, open. */
export interface WsPeer {
  /** Sends `count` echo requests of the factory's payload size (zero: one message of `count` frames). */
  send(count: number): void
  /** Closes with a TCP reset, as the TCP loads do: no port of the generator's left in TIME_WAIT. */
  reset(): void
}

export interface PeerFactory {
  /** Opens one session; resolves once it can send. `index` spreads sessions over source addresses. */
  open(events: PeerEvents, index: number): Promise<WsPeer>
}

/** As in the TCP idle pool (idle-pool.ts): 50,000 sessions need more than one source address's ports. */
const SOURCE_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']

/**
 * `ws` keeps its socket in `_socket` (ws 8): the one way to reset a client's connection instead of
 * closing it with a FIN, which would park the port in TIME_WAIT. Falls back to terminate().
 */
function resetWs(ws: WebSocket): void {
  const socket = (ws as unknown as { _socket?: net.Socket | null })._socket
  if (socket && !socket.destroyed) socket.resetAndDestroy()
  else ws.terminate()
}

/**
 * Sessions for `target`, sending payloads of `payloadSize` bytes, at most `maxBatch` per send.
 * One factory per load: its frames are encoded once, before any measurement.
 */
export function peerFactory(target: WsTarget, payloadSize: number, maxBatch: number): PeerFactory {
  return target.client === 'zero' ? zeroPeers(target.port, payloadSize, maxBatch) : colyseusPeers(target.port, payloadSize)
}

/**
 * Raw `ws` clients speaking zero's framing: like the TCP generator, precomputed frames and a
 * scanner that counts echoes without copying or checking them (the servers check). Heartbeats
 * from the server are answered with one, as zerostate's clients do.
 */
function zeroPeers(port: number, payloadSize: number, maxBatch: number): PeerFactory {
  const { buffer: burst, frameBytes } = precomputedFrames(payloadSize, maxBatch)
  const url = `ws://${SERVER_HOST}:${port}/`
  return {
    open(events, index) {
      const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: SOURCE_ADDRESSES[index % SOURCE_ADDRESSES.length]! })
      const scanner = new FrameScanner()
      ws.on('message', (data: RawData) => {
        const heartbeats = scanner.heartbeats
        const frames = scanner.push(data as Buffer)
        if (scanner.heartbeats !== heartbeats) ws.send(HEARTBEAT_FRAME)
        if (frames > 0) events.echoes(frames)
      })
      ws.on('close', () => events.closed())
      const peer: WsPeer = {
        send: (count) => ws.send(count === maxBatch ? burst : burst.subarray(0, count * frameBytes)),
        reset: () => resetWs(ws),
      }
      return new Promise((resolve, reject) => {
        ws.once('error', reject)
        ws.once('open', () => {
          ws.off('error', reject)
          ws.on('error', () => {}) // 'close' follows
          resolve(peer)
        })
      })
    },
  }
}

/** The SDK's WebSocket, for a reset (Colyseus 0.18: room.connection.transport.ws). */
function colyseusWs(room: ColyseusRoom): WebSocket | undefined {
  return (room.connection as unknown as { transport?: { ws?: WebSocket } }).transport?.ws
}

/**
 * Colyseus' SDK, as a game's client uses it: `joinOrCreate` (a matchmaking HTTP request, then the
 * WebSocket with the seat reservation), `room.sendBytes`, `room.onMessage`. One payload per
 * message: the SDK sends one message per call. Automatic reconnection is off: the bench's resets
 * are meant.
 */
function colyseusPeers(port: number, payloadSize: number): PeerFactory {
  const client = new ColyseusClient(`ws://${SERVER_HOST}:${port}`)
  const payload = new Uint8Array(payloadSize).fill(0x61)
  return {
    async open(events) {
      const room = await client.joinOrCreate('echo') // COLYSEUS_ROOM in colyseus-server.ts
      room.reconnection.enabled = false
      room.onMessage(ECHO_ID, () => events.echoes(1))
      room.onLeave(() => events.closed())
      return {
        send: (count) => {
          for (let i = 0; i < count; i++) room.sendBytes(ECHO_ID, payload)
        },
        reset: () => {
          const ws = colyseusWs(room)
          if (ws) resetWs(ws)
          else void room.leave(false).catch(() => undefined)
        },
      }
    },
  }
}
