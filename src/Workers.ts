/**
 * The Workers platform for @effect/platform apps: `HttpServerRequest.upgrade` and `upgradeChannel` over the
 * runtime's `WebSocketPair`, under `toFetchHandler` (a whole Worker) or `serveHttpApp` (one request), and the
 * Worker's `ctx` and `env` as services. It adds no policy of its own: no idle timeout, no size cap below the
 * runtime's, no rate limit, no log line, unless the app sets them in the options.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
 * import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { toFetchHandler } from "websocket-echo/Workers"
 *
 * const shout = Effect.gen(function* () {
 *   const socket = yield* HttpServerRequest.upgrade
 *   const write = yield* socket.writer
 *   yield* socket.runRaw((data) => write(typeof data === "string" ? data.toUpperCase() : data))
 *   return HttpServerResponse.empty()
 * })
 *
 * export default toFetchHandler(HttpRouter.empty.pipe(HttpRouter.get("/shout", shout)), Layer.empty)
 * ```
 *
 * @since 2.0.0
 * @module websocket-echo/Workers
 */
export {
  type FetchHandlerOptions,
  serveHttpApp,
  toFetchHandler,
  UpgradeRefused,
  upgradeDefaults
} from "./runtime/FetchHandler.js"
export type { UpgradeSettings } from "./runtime/Handshake.js"
export { ExecutionContext, WorkerEnv } from "./services/WorkerContext.js"
