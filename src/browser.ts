/**
 * zerostate for browsers: the WebSocket client and the frame codec, with nothing from Node.
 * `npm run build:browser` bundles this file into dist/browser/zerostate.js, an ES module a page
 * can import without a bundler (`import { connectWebSocket } from './zerostate.js'`).
 */
export { connectWebSocket } from './webSocketClient.js'
export type {
  WebSocketClientOptions,
  WebSocketCloseEventLike,
  WebSocketConstructor,
  WebSocketLike,
  WebSocketMessageEventLike,
} from './webSocketClient.js'
export type { ClientCloseReason, ClientStatus, ZerostateClient } from './client/zerostateClient.js'
export type { ClientResumeOptions, CommonClientOptions } from './client/clientSettings.js'
export type { Clock } from './options.js'
export type { Message } from './protocol/message.js'
export { DEFAULT_MAX_PAYLOAD, HEARTBEAT_ID, isMessage } from './protocol/message.js'
export { FrameDecoder } from './protocol/decoder.js'
export { frameBytes, frameLength, HEARTBEAT_BYTES, writeFrame } from './protocol/frameWriter.js'
export { closeReasonOf, WEBSOCKET_CLOSE_CODES } from './transport/closeCodes.js'
export { CLOSE_REASONS, OptionError, ProtocolError, SessionClosedError, ZerostateError } from './errors.js'
export type { CloseReason, ErrorCode, ProtocolErrorCode } from './errors.js'
