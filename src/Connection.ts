/**
 * One server-side WebSocket as an Effect service: `WebSocketService` opens a connection over the runtime's
 * `WebSocketPair` (or in memory, for tests, with `layerTest`), and a `Connection` gives its messages as a
 * `Stream` or to a handler, sends, and closes by the RFC's closing handshake. `toSocket` makes one an
 * @effect/platform `Socket`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 * import { WebSocketService } from "websocket-echo/Connection"
 *
 * export const upgrade = Effect.gen(function* () {
 *   const service = yield* WebSocketService
 *   const connection = yield* service.upgrade({ maxMessageBytes: 65_536 })
 *   // Serve it in a fiber that outlives the request's response (see websocket-echo/Workers).
 *   const serve = Stream.runForEach(connection.messages, (message) => connection.send(message))
 *   return { response: connection.response, serve }
 * })
 * ```
 *
 * @since 2.0.0
 * @module websocket-echo/Connection
 */
export type { CloseFrame } from "./domain/CloseFrame.js"
export { IdleTimeoutExpired } from "./domain/IdleTimeout.js"
export type { Message } from "./domain/Message.js"
export { MessageTooLarge } from "./domain/MessageTooLarge.js"
export { RateLimitExceeded } from "./domain/RateLimit.js"
export type { ConnectionStats } from "./domain/Traffic.js"
export { type SocketOptions, toSocket } from "./runtime/ConnectionSocket.js"
export {
  type Connection,
  type ConnectionEnded,
  isConnectionEnded,
  type LimitExceeded,
  type MessageHandler,
  type Reply,
  type Sent,
  type TestPeer,
  type UpgradeOptions,
  WebSocketService
} from "./services/WebSocketService.js"
