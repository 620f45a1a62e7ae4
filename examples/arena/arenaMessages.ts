/**
 * The one place where the arena's frame ids meet its protobuf types (gen/arena_pb.ts, from
 * proto/arena.proto): `frame(schema, value)` makes the zero frame of a message, `parse(frame)`
 * gives back the typed message its id names, or null for an id or a payload that is not the
 * arena's. The room, the server, the bot and the browser page all go through it.
 */
import { create, fromBinary, type MessageInitShape, type MessageShape, toBinary } from '@bufbuild/protobuf'
import type { GenMessage } from '@bufbuild/protobuf/codegenv2'
import type { Message } from '../../src/index.js'
import {
  BoardSchema,
  ConnectionsSchema,
  HelloSchema,
  ReadySchema,
  RoomStateSchema,
  StepSchema,
  TurnSchema,
  WelcomeSchema,
} from './gen/arena_pb.js'

/** Frame id → message type. Ids 1-9 go from players to the room, 10 and up come back. */
export const ARENA_MESSAGES = {
  1: HelloSchema,
  2: ReadySchema,
  3: TurnSchema,
  10: WelcomeSchema,
  11: RoomStateSchema,
  12: StepSchema,
  13: BoardSchema,
  14: ConnectionsSchema,
} as const

type Registry = typeof ARENA_MESSAGES
export type ArenaId = keyof Registry
export type ArenaSchema = Registry[ArenaId]
/** Any of the arena's messages; `$typeName` tells which. */
export type ArenaMessage = { [Id in ArenaId]: MessageShape<Registry[Id]> }[ArenaId]

const idOf = new Map<string, number>(Object.entries(ARENA_MESSAGES).map(([id, schema]) => [schema.typeName, Number(id)]))

/** The frame id of a message type. */
export function arenaId(schema: ArenaSchema): ArenaId {
  return idOf.get(schema.typeName) as ArenaId
}

/** The zero frame carrying `value` as a message of `schema`. */
export function frame<Schema extends ArenaSchema>(schema: Schema, value: MessageInitShape<Schema> = {} as MessageInitShape<Schema>): Message {
  const desc = schema as GenMessage<MessageShape<Schema>>
  return { id: arenaId(schema), data: toBinary(desc, create(desc, value as never)) }
}

/** The arena message a frame carries, or null when its id is not the arena's or its payload does not parse. */
export function parse(message: Message): ArenaMessage | null {
  const schema = (ARENA_MESSAGES as Readonly<Record<number, ArenaSchema>>)[message.id]
  if (schema === undefined) return null
  try {
    return fromBinary(schema as GenMessage<ArenaMessage>, message.data)
  } catch {
    return null
  }
}

/** Whether a frame's id is one the room takes (players' messages). */
export function isPlayerMessage(message: Message): boolean {
  return message.id >= 1 && message.id <= 9
}
