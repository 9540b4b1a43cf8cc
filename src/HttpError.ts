/**
 * Every error the echo answers a request with: tagged errors that carry their status, headers and JSON body,
 * and render themselves under @effect/platform (`HttpServerRespondable`). `errorResponse` renders one as a
 * web `Response`, for plain Workers code.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as Effect from "effect/Effect"
 * import { NotWebSocket } from "websocket-echo/HttpError"
 *
 * // Answers 426 with {"error":"Expected WebSocket upgrade request (Upgrade: websocket)","code":"NOT_WEBSOCKET"}.
 * export const router = HttpRouter.empty.pipe(HttpRouter.get("/live", Effect.fail(new NotWebSocket())))
 * ```
 *
 * @since 2.0.0
 * @module websocket-echo/HttpError
 */
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
  RoomsUnavailable,
  RoomUnavailable,
  SubprotocolNotSupported,
  TapFull,
  TapsUnavailable,
  TapUnavailable,
  UnknownParameter,
  UnsupportedUpgrade,
  UnsupportedVersion
} from "./domain/HttpError.js"
