import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { errorResponse } from "../domain/HttpError.js"
import { echoResponse } from "./Route.js"

/**
 * A router with the echo at `/echo`, to concatenate into an app built on
 * @effect/platform's `HttpRouter` and served by `HttpApp.toWebHandler` on
 * Workers. The same endpoint as the Worker's own (`echoResponse`): its errors
 * are answered with the same JSON responses.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
 * import { EchoConfig, EchoRouter } from "websocket-echo/EchoServer"
 * import { toFetchHandler } from "websocket-echo/Workers"
 *
 * // The echo at /v1/echo, beside the app's own routes.
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get("/v1/status", HttpServerResponse.unsafeJson({ ok: true })),
 *   HttpRouter.mount("/v1", EchoRouter)
 * )
 *
 * export default toFetchHandler(app, EchoConfig.layerWith({ prefix: "> ", maxMessageBytes: 65_536 }))
 * ```
 *
 * @since 2.0.0
 */
export const EchoRouter = HttpRouter.empty.pipe(
  HttpRouter.all(
    "/echo",
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => echoResponse(request.source as Request)).pipe(
      Effect.catchAll((error) => Effect.succeed(errorResponse(error))),
      Effect.map(HttpServerResponse.raw)
    )
  )
)
