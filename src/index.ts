/**
 * websocket-echo for Effect apps: the echo router to concatenate into your own
 * `HttpRouter`, the services it needs, and the errors it answers with.
 *
 * @example
 * ```ts
 * const router = HttpRouter.empty.pipe(HttpRouter.get("/", HttpServerResponse.text("hi")), HttpRouter.concat(EchoRouter))
 * const { handler } = HttpApp.toWebHandlerLayer(router, Layer.mergeAll(WebSocketService.layer, EchoConfig.layer))
 * ```
 */
export { type CloseFrame, closeReply, isValidCloseCode } from "./domain/CloseFrame.js"
export {
  type ErrorBody,
  InternalError,
  MethodNotAllowed,
  NotFound,
  NotWebSocket,
  OriginNotAllowed
} from "./domain/HttpError.js"
export { byteLength, type Message, prefixMessage } from "./domain/Message.js"
export { MessageTooLarge } from "./domain/MessageTooLarge.js"
export { isOriginAllowed, normalizeOrigin, type OriginPolicy } from "./domain/Origin.js"
export { RateLimitExceeded } from "./domain/RateLimit.js"
export { isWebSocketUpgrade } from "./domain/Upgrade.js"
export { App } from "./runtime/App.js"
export { EchoRouter, echo, echoHandler } from "./runtime/Echo.js"
export { config, defaults, EchoConfig, type EchoSettings } from "./services/EchoConfig.js"
export {
  type Connection,
  type ConnectionStats,
  type Sent,
  type TestPeer,
  type UpgradeOptions,
  WebSocketService
} from "./services/WebSocketService.js"
