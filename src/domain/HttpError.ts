import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly error: string
  readonly code: string
}

/** The one place where an error becomes a response: its message and code as `{error, code}` JSON. */
const respondWith = (status: number, code: string, headers: Record<string, string> = {}) =>
  function (this: { readonly message: string }): Effect.Effect<HttpServerResponse.HttpServerResponse> {
    const body: ErrorBody = { error: this.message, code }
    return Effect.succeed(HttpServerResponse.unsafeJson(body, { status, headers }))
  }

/**
 * A request to the echo endpoint that is not a WebSocket upgrade. Answered
 * with 426 and `Upgrade: websocket` (RFC 9110 §15.5.22).
 */
export class NotWebSocket extends Data.TaggedError("NotWebSocket") implements HttpServerRespondable.Respondable {
  override readonly message = "Expected WebSocket upgrade request (Upgrade: websocket)"
  readonly [HttpServerRespondable.symbol] = respondWith(426, "NOT_WEBSOCKET", { upgrade: "websocket" })
}

/**
 * A method other than GET or HEAD. Answered with 405 and `Allow: GET, HEAD`
 * (HEAD is served as GET without a body, so the echo never upgrades it).
 * `use` says what to send instead; it defaults to the echo's own request.
 */
export class MethodNotAllowed
  extends Data.TaggedError("MethodNotAllowed")<{ readonly method: string; readonly use?: string }>
  implements HttpServerRespondable.Respondable
{
  override get message() {
    return `Method ${this.method} is not allowed; use ${this.use ?? "GET with Upgrade: websocket"}`
  }
  readonly [HttpServerRespondable.symbol] = respondWith(405, "METHOD_NOT_ALLOWED", { allow: "GET, HEAD" })
}

/** A path that does not exist. Answered with 404. */
export class NotFound extends Data.TaggedError("NotFound") implements HttpServerRespondable.Respondable {
  override readonly message = "Not found; the echo is at GET /echo with Upgrade: websocket"
  readonly [HttpServerRespondable.symbol] = respondWith(404, "NOT_FOUND")
}

/** An unexpected defect. Answered with 500 and a fixed text: nothing of the defect reaches the client. */
export class InternalError extends Data.TaggedError("InternalError") implements HttpServerRespondable.Respondable {
  override readonly message = "Internal server error"
  readonly [HttpServerRespondable.symbol] = respondWith(500, "INTERNAL_ERROR")
}

/**
 * A WebSocket upgrade from an origin that is not allowed, or without an
 * `Origin` when one is required (RFC 6455 §10.2). Answered with 403.
 */
export class OriginNotAllowed
  extends Data.TaggedError("OriginNotAllowed")<{ readonly origin: string | undefined }>
  implements HttpServerRespondable.Respondable
{
  override get message() {
    return this.origin === undefined
      ? "An Origin header is required"
      : `Origin ${JSON.stringify(this.origin)} is not allowed`
  }
  readonly [HttpServerRespondable.symbol] = respondWith(403, "ORIGIN_NOT_ALLOWED")
}
