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
