import type { CloseReason } from '../errors.js'
import { encodeFrame } from '../protocol/encoder.js'
import { isMessage, type Message } from '../protocol/message.js'
import type { RoomMember } from '../rooms/room.js'
import type { UserId } from '../session.js'

/** How a remote member reaches its player: a frame for a session of that node (NatsCluster.unicastTo). */
export type SendToNode = (node: string, sessionId: string, frame: Uint8Array) => boolean

/**
 * A player seated in this node's room whose session another node holds: what the room sends it
 * travels to that node (batched with everything else going there), in order.
 */
export class RemoteMember implements RoomMember {
  /** Set when the player's node says the session closed, so the room sends it nothing more. */
  closeReason: CloseReason | null = null
  /** The player's node asked for the leave: it needs no word back. */
  leaving = false

  constructor(
    readonly id: string,
    readonly userId: UserId | undefined,
    readonly node: string,
    private readonly sendTo: SendToNode,
  ) {}

  send(message: Message): boolean {
    return isMessage(message) && this.queue(encodeFrame(message.id, message.data))
  }

  queue(frame: Buffer): boolean {
    return this.closeReason === null && this.sendTo(this.node, this.id, frame)
  }
}
