/**
 * What a raw peer must see when the server closes its connection with a reason: over WebSocket a
 * close frame with that reason's code (src/transport/closeCodes.ts) and its name as the text; over
 * TCP, for the reasons the server closes in order (after flushing), a FIN.
 */
import { expect } from 'vitest'
import type { CloseReason } from '../../src/errors.js'
import { WEBSOCKET_CLOSE_CODES } from '../../src/transport/closeCodes.js'
import type { Peer } from './peer.js'

/** Reasons after which the server flushes and ends the TCP connection with a FIN (the others cut it). */
export const ORDERLY: ReadonlySet<CloseReason> = new Set([
  'handshake-timeout',
  'handshake-rejected',
  'frame-too-small',
  'frame-too-large',
  'bad-checksum',
  'kicked',
  'server-stopping',
  'resume-refused',
  'replay-unavailable',
])

/** Waits for the peer's connection to close and checks it was closed as `reason` says. */
export async function expectPeerClosed(peer: Peer, reason: CloseReason, timeout = 2_000): Promise<void> {
  await peer.waitClosed(timeout)
  if (peer.transport === 'websocket') {
    expect(peer.closeFrame, `the close frame for ${reason}`).toEqual({ code: WEBSOCKET_CLOSE_CODES[reason], reason })
  } else if (ORDERLY.has(reason)) {
    expect(peer.serverClosed, `${reason}: the server ends with a FIN`).toBe(true)
  }
}
