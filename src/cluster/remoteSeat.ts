import type { LeaveReason, PlayerId } from '../../machines/room.js'
import type { Message } from '../protocol/message.js'
import type { RoomInfo, RoomType } from '../rooms/room.js'
import type { JoinOptions, Joined } from '../rooms/roomRegistry.js'

/** What a remote seat asks of the cluster's rooms (src/cluster/clusterRooms.ts). */
export interface RemoteSeatHost {
  /** The room as the directory says now, if it says. */
  entry(roomId: string): RoomInfo | undefined
  /** A player's frame, to the room's node; false if that node is unreachable (the frame is lost). */
  forward(node: string, roomId: string, player: PlayerId, message: Message): boolean
  /** A notice about the player (left, dropped, resumed) to the room's node. */
  notify(node: string, notice: Record<string, unknown> & { roomId: string }): boolean
  /** The membership is gone here. */
  unseated(seat: RemoteSeat, player: PlayerId): void
}

/**
 * A session of this node seated in a room another node owns. The session's frames that the room
 * takes travel to that node, in order; its leaves, drops and resumes are told there. `node`
 * changes when a surviving node restores the room after its owner died.
 */
export class RemoteSeat implements Joined {
  constructor(
    readonly id: string,
    readonly type: RoomType,
    public node: string,
    /** The room as the owner last answered, for when the directory does not say yet. */
    public last: RoomInfo,
    /** Joined through the control protocol: the owner sends JOINED and LEFT itself. */
    readonly control: boolean,
    private readonly host: RemoteSeatHost,
  ) {}

  info(): RoomInfo {
    return this.host.entry(this.id) ?? this.last
  }

  matches(filter: JoinOptions['filter']): boolean {
    return filter === undefined || filter(this.info().metadata) === true
  }

  message(player: PlayerId, message: Message): boolean {
    if (!this.type.accepts(message)) return false
    this.host.forward(this.node, this.id, player, message)
    return true
  }

  dropped(player: PlayerId): boolean {
    return this.host.notify(this.node, { t: 'drop', roomId: this.id, player })
  }

  resumed(player: PlayerId): boolean {
    return this.host.notify(this.node, { t: 'resume', roomId: this.id, player })
  }

  leave(player: PlayerId, reason: LeaveReason): boolean {
    this.host.notify(this.node, { t: 'leave', roomId: this.id, player, reason })
    this.host.unseated(this, player)
    return true
  }
}
