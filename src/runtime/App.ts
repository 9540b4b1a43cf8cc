import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { name, version } from "../../package.json"
import { InternalError, MethodNotAllowed, NotFound } from "../domain/HttpError.js"
import { EchoConfig } from "../services/EchoConfig.js"
import { debugPage, debugPageSecurityPolicy, prefersHtml } from "./DebugPage.js"
import { EchoRouter } from "./Echo.js"

/** Fails with a 405 unless the request is a GET or a HEAD (served as GET without a body). */
const onlyGet = Effect.gen(function* () {
  const { method } = yield* HttpServerRequest.HttpServerRequest
  if (method !== "GET" && method !== "HEAD") return yield* new MethodNotAllowed({ method, use: "GET" })
})

/** `GET /`: the debug page for a browser, a description of the service for anything else. */
const index = Effect.gen(function* () {
  yield* onlyGet
  const request = yield* HttpServerRequest.HttpServerRequest
  if (prefersHtml(request.headers.accept)) {
    return HttpServerResponse.text(debugPage, {
      contentType: "text/html; charset=utf-8",
      headers: {
        "content-security-policy": debugPageSecurityPolicy,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        vary: "Accept"
      }
    })
  }
  const { prefix, maxMessageBytes } = yield* EchoConfig
  return HttpServerResponse.unsafeJson(
    {
      name,
      version,
      endpoints: [
        { method: "GET", path: "/echo", description: "WebSocket upgrade; every message comes back with the prefix" },
        { method: "GET", path: "/", description: "this description, or the debug page for Accept: text/html" },
        { method: "GET", path: "/health", description: 'liveness: {"status":"ok"}' }
      ],
      prefix,
      maxMessageBytes
    },
    { headers: { vary: "Accept" } }
  )
})

/** `GET /health`: answers once the isolate has built the app, so a bad configuration shows as a 500. */
const health = Effect.zipRight(
  onlyGet,
  Effect.succeed(HttpServerResponse.unsafeJson({ status: "ok" }, { headers: { "cache-control": "no-store" } }))
)

/**
 * The whole service as an `HttpApp`: the debug page and description at `/`, `/health`, the echo router,
 * unknown paths as 404, and any defect as a logged 500 that tells the client nothing of it.
 */
export const App = HttpRouter.empty.pipe(
  HttpRouter.all("/", index),
  HttpRouter.all("/health", health),
  HttpRouter.concat(EchoRouter),
  Effect.catchTag("RouteNotFound", () => new NotFound()),
  Effect.catchAllDefect((defect) =>
    Effect.zipRight(Effect.logError("unexpected defect", Cause.die(defect)), new InternalError())
  )
)
