/**
 * websocket-echo for Effect apps: the whole service as an Effect from a web
 * `Request` to a `Response` (`route`), the echo endpoint alone (`echoResponse`,
 * or `EchoRouter` for @effect/platform's `HttpRouter`), the two echo programs,
 * the services they need, and the errors they answer with.
 *
 * @example
 * ```ts
 * const router = HttpRouter.empty.pipe(HttpRouter.get("/", HttpServerResponse.text("hi")), HttpRouter.concat(EchoRouter))
 * const { handler } = HttpApp.toWebHandlerLayer(router, Layer.mergeAll(WebSocketService.layer, EchoConfig.layer))
 * ```
 */
export { type CloseFrame, closeReply, isValidCloseCode } from "./domain/CloseFrame.js"
export * as ConnectionMachine from "./domain/ConnectionMachine.js"
export { EchoRpcs, EmptyText, MAX_STREAM_COUNT } from "./domain/EchoRpcs.js"
export {
  type ErrorBody,
  errorBody,
  errorResponse,
  type HttpError,
  InternalError,
  InvalidParameter,
  InvalidRoom,
  InvalidSubprotocol,
  MethodNotAllowed,
  NotFound,
  NotWebSocket,
  OriginNotAllowed,
  RejectedOnRequest,
  RoomFull,
  SubprotocolNotSupported,
  UnknownParameter,
  UnsupportedUpgrade,
  UnsupportedVersion
} from "./domain/HttpError.js"
export { IdleTimeoutExpired } from "./domain/IdleTimeout.js"
export { byteLength, type Message, prefixMessage } from "./domain/Message.js"
export { MessageTooLarge } from "./domain/MessageTooLarge.js"
export { isOriginAllowed, normalizeOrigin, type OriginPolicy } from "./domain/Origin.js"
export { RateLimitExceeded } from "./domain/RateLimit.js"
export { type CloudflareInfo, type RequestInfo, requestInfo } from "./domain/RequestInfo.js"
export {
  behaviourParameters,
  closeAfterEchoes,
  isPlainEcho,
  isScenario,
  MAX_SCENARIO_TEXT_BYTES,
  noScenario,
  parameterHelp,
  parseScenario,
  type Scenario,
  type ScenarioClose,
  type ScenarioLimits,
  type ScenarioPush,
  type ScenarioReject
} from "./domain/Scenario.js"
export { chooseSubprotocol, parseSubprotocols } from "./domain/Subprotocol.js"
export { admit, type ConnectionStats, countSent, type Limits, makeTraffic, type Traffic } from "./domain/Traffic.js"
export { isRuntimeUpgradable, isWebSocketUpgrade } from "./domain/Upgrade.js"
export { type SocketOptions, toSocket } from "./runtime/ConnectionSocket.js"
export {
  type Ending,
  echoPrograms,
  handlerEcho,
  startHandlerEcho,
  streamEcho,
  superviseExit
} from "./runtime/Echo.js"
export { EchoRouter } from "./runtime/EchoRouter.js"
export { EchoRpcsLive, rpcResponse } from "./runtime/EchoRpc.js"
export { type FetchHandlerOptions, serveHttpApp, toFetchHandler, UpgradeRefused } from "./runtime/FetchHandler.js"
export {
  type AcceptedUpgrade,
  checkHandshake,
  checkUpgrade,
  type RequestLifetime,
  type UpgradeSettings
} from "./runtime/Handshake.js"
export { echoResponse, route, routeWith } from "./runtime/Route.js"
export {
  type Backend,
  config,
  defaults,
  EchoConfig,
  type EchoSettings,
  type Pipeline
} from "./services/EchoConfig.js"
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
