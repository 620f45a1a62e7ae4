import type { CloseReason } from './closeReason.js'
import type { Message } from './message.js'

/**
 * What a room machine hears and what it may emit. A room type is an XState machine the game
 * writes: zerostate sends it {@link RoomEvent}s in arrival order, inside the game-logic actor's
 * turn, and turns what it emits ({@link RoomEmitted}) into frames, so the machine never touches a
 * socket and runs the same in a test with no server.
 *
 * @example
 * setup({ types: { context: {} as { players: string[] }, events: {} as RoomEvent, input: {} as RoomInput, emitted: {} as RoomEmitted } })
 *   .createMachine({ on: { 'player.message': { actions: emit(({ event }) => broadcast(event.message)) } } })
 */

/** A player is one session in one room; the id is the session's. */
export type PlayerId = string

/** Why a player is no longer in a room. */
export type LeaveReason =
  /** The player (or the game, through `rooms.leave`) left the room. */
  | 'left'
  /** The room kicked the player (`kick`). */
  | 'kicked'
  /** The room ended: its machine reached a final state, or the server stopped. */
  | 'room-closed'
  /** The room's machine threw, and the room was stopped. */
  | 'room-failed'
  /** In a cluster: the node that held the player's session (or, for a restored room, the room) died. */
  | 'node-lost'
  /** The player's session closed, for this reason. */
  | CloseReason

export type RoomEvent =
  /** A player took a seat; `options` are what it asked to join with. */
  | { type: 'player.joined'; player: PlayerId; userId: string | number | undefined; options: Readonly<Record<string, unknown>> }
  /** A frame from a seated player. `message.data` is a view into a socket read: copy it to keep it. */
  | { type: 'player.message'; player: PlayerId; message: Message }
  /**
   * With the server's `resume`: the player's connection was lost, and the seat is kept for the
   * grace. Then comes `player.resumed`, or `player.left` with the loss's reason.
   */
  | { type: 'player.dropped'; player: PlayerId }
  /** The dropped player resumed its session: its messages reach the room again. */
  | { type: 'player.resumed'; player: PlayerId }
  /** A player's seat is gone. It is the last event the room hears of that player. */
  | { type: 'player.left'; player: PlayerId; reason: LeaveReason }
  /** The room type's fixed-rate tick: `elapsed` ms since the last one (the first: since creation). */
  | { type: 'room.tick'; elapsed: number; tick: number }

/** What every room machine is started with. */
export interface RoomInput {
  roomId: string
  /** The room type's name. */
  name: string
  maxPlayers: number
  /** What the player who caused the room's creation asked to join with. */
  options: Readonly<Record<string, unknown>>
}

export type RoomEmitted =
  /** One frame to one player. */
  | { type: 'send'; to: PlayerId; message: Message }
  /** One frame to every seated player (encoded once), or all but `except`. */
  | { type: 'broadcast'; message: Message; except?: PlayerId }
  /** Remove a player from the room (its session stays open); the room then hears `player.left` with `kicked`. */
  | { type: 'kick'; player: PlayerId }
  /**
   * Matching no longer picks the room (a match has started); `unlock` opens it to matching again.
   * A join by room id (an invitation, a player coming back) still takes a free seat: a room that
   * wants no one new kicks on `player.joined`. Full rooms are never matched.
   */
  | { type: 'lock' }
  | { type: 'unlock' }
  /** Replace the metadata `joinOrCreate` filters on and `rooms.list` shows. */
  | { type: 'metadata'; metadata: Readonly<Record<string, unknown>> }

/** `emit(({ event }) => sendTo(event.player, message))` */
export function sendTo(to: PlayerId, message: Message): RoomEmitted {
  return { type: 'send', to, message }
}

/** `emit(() => broadcast(message, { except: player }))` */
export function broadcast(message: Message, options: { except?: PlayerId } = {}): RoomEmitted {
  return options.except === undefined ? { type: 'broadcast', message } : { type: 'broadcast', message, except: options.except }
}

export function kick(player: PlayerId): RoomEmitted {
  return { type: 'kick', player }
}
