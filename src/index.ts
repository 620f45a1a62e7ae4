export { createServer } from './server.js'
export type { Server, ServerState } from './server.js'
export { DEFAULT_WEBSOCKET_PORT } from './listenOptions.js'
export type { Address, ListenOptions, WebSocketAddress, WebSocketListenOptions } from './listenOptions.js'
export { closeReasonOf, WEBSOCKET_CLOSE_CODES } from './transport/closeCodes.js'
export type { TransportKind, UpgradeRequest } from './transport/transport.js'
export { connect } from './client.js'
export type { Client, ClientCloseReason, ClientOptions, ClientResumeOptions, ClientStatus, CommonClientOptions, ZerostateClient } from './client.js'
export { connectWebSocket } from './webSocketClient.js'
export type { WebSocketClientOptions, WebSocketCloseEventLike, WebSocketConstructor, WebSocketLike, WebSocketMessageEventLike } from './webSocketClient.js'
export type { Session, UserId } from './session.js'
export type { ConnectHandler, DisconnectHandler, ErrorHandler, MessageHandler } from './gameLoop.js'
export type { Clock, HeartbeatOptions, Inspect, ServerOptions, VerifyRejection, VerifyResult } from './options.js'
export { openFileInspector } from './inspect/fileInspector.js'
export type { FileInspector, FileInspectorOptions } from './inspect/fileInspector.js'
export { startRelayInspector } from './inspect/relayInspector.js'
export type { RelayInspector, RelayTarget } from './inspect/relayInspector.js'
export type { InspectorRelay } from './inspect/inspectorRelay.js'
export { DEFAULTS } from './options.js'
export {
  CLOSE_REASONS,
  HandlerError,
  HandlerTimeoutError,
  ListenError,
  OptionError,
  ProtocolError,
  ROOM_ERROR_CODES,
  RoomError,
  SessionClosedError,
  USAGE_ERROR_CODES,
  ZerostateError,
} from './errors.js'
export type { CloseReason, ErrorCode, ProtocolErrorCode, RoomErrorCode, TransportCloseReason, UsageErrorCode } from './errors.js'
export type { Message } from './protocol/message.js'
export { DEFAULT_MAX_PAYLOAD, HEARTBEAT_ID } from './protocol/message.js'
export { encodeFrame, frameLength, writeFrame } from './protocol/encoder.js'
export { FrameDecoder } from './protocol/decoder.js'
export type { ConnectionState, ConnectionTag, LossReason } from '../machines/connection.js'
export type { JoinOptions, RoomDefinition, Rooms } from './rooms/roomRegistry.js'
export type { PersistedRoom, RoomInfo } from './rooms/room.js'
export { isControlId, ROOM_CONTROL_IDS } from './rooms/roomControl.js'
export type { ResumeOptions } from './options.js'
export { isResumeControlId, RESUME_CONTROL_IDS } from './resume/resumeControl.js'
export { broadcast, kick, sendTo } from '../machines/room.js'
export type { LeaveReason, PlayerId, RoomEmitted, RoomEvent, RoomInput } from '../machines/room.js'
