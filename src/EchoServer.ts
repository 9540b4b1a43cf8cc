/**
 * The echo itself, to mount in an app: `EchoRouter` (the `/echo` route for @effect/platform's `HttpRouter`),
 * `echoResponse` (the endpoint from a web `Request`), `route` (the whole service), the two echo programs, and
 * `EchoConfig`, their settings. Its behaviours (`close_code`, `delay_ms`, …) are off unless `testBehaviours`
 * turns them on.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
 * import { EchoConfig, EchoRouter } from "websocket-echo/EchoServer"
 * import { toFetchHandler } from "websocket-echo/Workers"
 *
 * const app = HttpRouter.empty.pipe(HttpRouter.get("/", HttpServerResponse.text("hi")), HttpRouter.concat(EchoRouter))
 *
 * export default toFetchHandler(app, EchoConfig.layerWith({ prefix: "you said: " }))
 * ```
 *
 * @since 2.0.0
 * @module websocket-echo/EchoServer
 */
export { prefixMessage } from "./domain/Message.js"
export { handlerEcho, streamEcho } from "./runtime/Echo.js"
export { EchoRouter } from "./runtime/EchoRouter.js"
export { echoResponse, route } from "./runtime/Route.js"
export { type Backend, EchoConfig, type EchoSettings, type Pipeline } from "./services/EchoConfig.js"
