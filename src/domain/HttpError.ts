import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Types from "effect/Types"
import { MAX_SUBPROTOCOL_BYTES } from "./Subprotocol.js"

/**
 * The JSON body of every error response.
 *
 * @example
 * ```ts
 * import type { ErrorBody } from "websocket-echo/HttpError"
 *
 * // A client reads why its upgrade was refused from the body, whatever the status: "NOT_WEBSOCKET", …
 * export const refusal = async (response: Response) => ((await response.json()) as ErrorBody).code
 * ```
 *
 * @since 2.0.0
 */
export interface ErrorBody {
  readonly error: string
  readonly code: string
}

/** A tagged error class whose instances render themselves under @effect/platform (`HttpServerRespondable`). */
type HttpErrorClass<Tag extends string> = new <A extends Record<string, unknown> = Record<never, never>>(
  args: Types.VoidIfEmpty<{ readonly [P in keyof A as P extends "_tag" ? never : P]: A[P] }>
) => Cause.YieldableError & { readonly _tag: Tag } & Readonly<A> & HttpServerRespondable.Respondable

/**
 * `Data.TaggedError`, with the error's own JSON response as its `HttpServerRespondable` answer: an `HttpApp`
 * that fails with one answers its status, headers and `{error, code}` with no `errorResponse` by hand.
 */
const TaggedHttpError = <Tag extends string>(tag: Tag): HttpErrorClass<Tag> => {
  class Base extends Data.TaggedError(tag) {
    [HttpServerRespondable.symbol]() {
      const error = this as unknown as HttpError
      return HttpServerResponse.unsafeJson(errorBody(error), { status: error.status, headers: error.headers })
    }
  }
  return Base as unknown as HttpErrorClass<Tag>
}

/**
 * A request to the echo endpoint that is not a WebSocket upgrade. Answered
 * with 426 and `Upgrade: websocket` (RFC 9110 §15.5.22).
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
 * import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
 * import * as Effect from "effect/Effect"
 * import { NotWebSocket } from "websocket-echo/HttpError"
 *
 * declare const upgradeToFeed: Effect.Effect<HttpServerResponse.HttpServerResponse>
 *
 * // A route for sockets only: anything else answers 426 with `Upgrade: websocket` and its JSON.
 * const feed = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
 *   request.headers.upgrade?.toLowerCase() === "websocket" ? upgradeToFeed : Effect.fail(new NotWebSocket())
 * )
 *
 * export const router = HttpRouter.empty.pipe(HttpRouter.get("/feed", feed))
 * ```
 *
 * @since 2.0.0
 */
export class NotWebSocket extends TaggedHttpError("NotWebSocket") {
  readonly status = 426
  readonly code = "NOT_WEBSOCKET"
  readonly headers = { upgrade: "websocket" }
  override readonly message = "Expected WebSocket upgrade request (Upgrade: websocket)"
}

/**
 * An upgrade whose `Upgrade` header asks for a WebSocket in a form that the
 * Workers runtime refuses to answer with a 101 (a token list such as
 * `websocket, h2c`, or trailing white space): the runtime would turn our 101
 * into a 500, so the request is refused with 400 before any socket exists.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { echoResponse } from "websocket-echo/EchoServer"
 * import type { UnsupportedUpgrade } from "websocket-echo/HttpError"
 *
 * // Which clients send `Upgrade: websocket, h2c`, which the runtime cannot answer with a 101.
 * export const echo = (request: Request) =>
 *   echoResponse(request).pipe(
 *     Effect.tapErrorTag("UnsupportedUpgrade", (error: UnsupportedUpgrade) =>
 *       Effect.logWarning(`Upgrade: ${error.upgrade} from ${request.headers.get("user-agent")}`)
 *     )
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class UnsupportedUpgrade extends TaggedHttpError("UnsupportedUpgrade")<{ readonly upgrade: string }> {
  readonly status = 400
  readonly code = "UNSUPPORTED_UPGRADE"
  readonly headers = {}
  override get message() {
    return `Upgrade must be the single token websocket; this runtime cannot switch protocols for ${JSON.stringify(this.upgrade)}`
  }
}

/**
 * A WebSocket upgrade that asks for a protocol version other than 13, the one RFC 6455 defines. Answered with
 * 426 and `Sec-WebSocket-Version: 13` (§4.2.2, §4.4) before any socket exists: the runtime would refuse the
 * 101 itself, and the socket would be left open on the server with nobody on the other end.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { echoResponse } from "websocket-echo/EchoServer"
 * import type { UnsupportedVersion } from "websocket-echo/HttpError"
 *
 * // Old clients that still offer a draft protocol version, counted before the 426 goes back.
 * export const echo = (request: Request) =>
 *   echoResponse(request).pipe(
 *     Effect.tapErrorTag("UnsupportedVersion", (error: UnsupportedVersion) =>
 *       Effect.logInfo(`Sec-WebSocket-Version ${error.version}`)
 *     )
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class UnsupportedVersion extends TaggedHttpError("UnsupportedVersion")<{ readonly version: string }> {
  readonly status = 426
  readonly code = "UNSUPPORTED_WEBSOCKET_VERSION"
  readonly headers = { "sec-websocket-version": "13" }
  override get message() {
    return `Sec-WebSocket-Version must be 13, got ${JSON.stringify(this.version)}`
  }
}

/**
 * A method other than GET or HEAD. Answered with 405 and `Allow: GET, HEAD`
 * (HEAD is served as GET without a body, so the echo never upgrades it).
 * `use` says what to send instead; it defaults to the echo's own request.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
 * import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
 * import * as Effect from "effect/Effect"
 * import { MethodNotAllowed } from "websocket-echo/HttpError"
 *
 * // A read-only resource: anything but GET or HEAD answers 405 with `Allow: GET, HEAD` and its JSON.
 * const status = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
 *   request.method === "GET" || request.method === "HEAD"
 *     ? Effect.succeed(HttpServerResponse.unsafeJson({ ok: true }))
 *     : Effect.fail(new MethodNotAllowed({ method: request.method, use: "GET" }))
 * )
 *
 * export const router = HttpRouter.empty.pipe(HttpRouter.all("/status", status))
 * ```
 *
 * @since 2.0.0
 */
export class MethodNotAllowed extends TaggedHttpError("MethodNotAllowed")<{
  readonly method: string
  readonly use?: string
}> {
  readonly status = 405
  readonly code = "METHOD_NOT_ALLOWED"
  readonly headers = { allow: "GET, HEAD" }
  override get message() {
    return `Method ${this.method} is not allowed; use ${this.use ?? "GET with Upgrade: websocket"}`
  }
}

/**
 * A path that does not exist. Answered with 404.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { EchoRouter } from "websocket-echo/EchoServer"
 * import { NotFound } from "websocket-echo/HttpError"
 *
 * // An app that is only the echo answers an unknown path as the echo's own Worker does: 404 and its JSON.
 * export const app = EchoRouter.pipe(Effect.catchTag("RouteNotFound", () => Effect.fail(new NotFound())))
 * ```
 *
 * @since 2.0.0
 */
export class NotFound extends TaggedHttpError("NotFound") {
  readonly status = 404
  readonly code = "NOT_FOUND"
  readonly headers = {}
  override readonly message = "Not found; the echo is at GET /echo with Upgrade: websocket"
}

/**
 * An unexpected defect. Answered with 500 and a fixed text: nothing of the defect reaches the client.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { errorResponse, InternalError } from "websocket-echo/HttpError"
 *
 * declare const handle: (request: Request) => Effect.Effect<Response>
 *
 * // A defect is logged here and never shown: the client gets 500 and a fixed text.
 * export default {
 *   fetch: (request) =>
 *     Effect.runPromise(
 *       handle(request).pipe(
 *         Effect.catchAllDefect((defect) =>
 *           Effect.as(Effect.logError("defect", defect), errorResponse(new InternalError()))
 *         )
 *       )
 *     )
 * } satisfies ExportedHandler
 * ```
 *
 * @since 2.0.0
 */
export class InternalError extends TaggedHttpError("InternalError") {
  readonly status = 500
  readonly code = "INTERNAL_ERROR"
  readonly headers = {}
  override readonly message = "Internal server error"
}

/**
 * A WebSocket upgrade from an origin that is not allowed, or without an
 * `Origin` when one is required (RFC 6455 §10.2). Answered with 403.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { echoResponse } from "websocket-echo/EchoServer"
 * import type { OriginNotAllowed } from "websocket-echo/HttpError"
 *
 * // With EchoConfig.layerWith({ allowedOrigins: ["https://app.example"], requireOrigin: true }) in the app's
 * // layer, only the app's own pages may open a socket: the others are logged, then answered 403.
 * export const echo = (request: Request) =>
 *   echoResponse(request).pipe(
 *     Effect.tapErrorTag("OriginNotAllowed", (error: OriginNotAllowed) =>
 *       Effect.logWarning(`refused origin ${error.origin ?? "(none)"}`)
 *     )
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class OriginNotAllowed extends TaggedHttpError("OriginNotAllowed")<{ readonly origin: string | undefined }> {
  readonly status = 403
  readonly code = "ORIGIN_NOT_ALLOWED"
  readonly headers = {}
  override get message() {
    return this.origin === undefined
      ? "An Origin header is required"
      : `Origin ${JSON.stringify(this.origin)} is not allowed`
  }
}

/**
 * A `Sec-WebSocket-Protocol` header that is not a list of unique tokens
 * (RFC 6455 §4.1, RFC 9110 §5.6.2), or that offers a token longer than
 * `MAX_SUBPROTOCOL_BYTES` (`tooLong`: its size), which the server would have
 * to keep with the socket. Answered with 400.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { echoResponse } from "websocket-echo/EchoServer"
 * import type { InvalidSubprotocol } from "websocket-echo/HttpError"
 *
 * // A client whose Sec-WebSocket-Protocol header is malformed, found in the logs before it is answered 400.
 * export const echo = (request: Request) =>
 *   echoResponse(request).pipe(
 *     Effect.tapErrorTag("InvalidSubprotocol", (error: InvalidSubprotocol) =>
 *       Effect.logWarning(`Sec-WebSocket-Protocol: ${error.header}`)
 *     )
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class InvalidSubprotocol extends TaggedHttpError("InvalidSubprotocol")<{
  readonly header: string
  readonly tooLong?: number | undefined
}> {
  readonly status = 400
  readonly code = "INVALID_SUBPROTOCOL"
  readonly headers = {}
  override get message() {
    return this.tooLong === undefined
      ? `Sec-WebSocket-Protocol must be a comma-separated list of unique tokens, got ${JSON.stringify(this.header)}`
      : `Sec-WebSocket-Protocol tokens must be at most ${MAX_SUBPROTOCOL_BYTES} bytes, got one of ${this.tooLong} bytes`
  }
}

/**
 * The client offered subprotocols and none of them is one this server speaks
 * (`PROTOCOLS`). Answered with 400 before any socket exists, naming both lists.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { echoResponse } from "websocket-echo/EchoServer"
 * import type { SubprotocolNotSupported } from "websocket-echo/HttpError"
 *
 * // With EchoConfig.layerWith({ protocols: ["chat.v2"] }) in the app's layer, a client that offers chat.v1 alone
 * // is logged, then answered 400 naming both lists.
 * export const echo = (request: Request) =>
 *   echoResponse(request).pipe(
 *     Effect.tapErrorTag("SubprotocolNotSupported", (error: SubprotocolNotSupported) =>
 *       Effect.logInfo(`outdated client: offered ${error.offered.join(", ")}`)
 *     )
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class SubprotocolNotSupported extends TaggedHttpError("SubprotocolNotSupported")<{
  readonly offered: ReadonlyArray<string>
  readonly supported: ReadonlyArray<string>
}> {
  readonly status = 400
  readonly code = "SUBPROTOCOL_NOT_SUPPORTED"
  readonly headers = {}
  override get message() {
    return `None of the offered subprotocols (${this.offered.join(", ")}) is supported; this server speaks ${this.supported.join(", ")}`
  }
}

/**
 * A `room` query parameter that is not a room name. Answered with 400.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { echoResponse } from "websocket-echo/EchoServer"
 * import type { InvalidRoom } from "websocket-echo/HttpError"
 *
 * // `?room=my lobby!` is not a room name: logged, then answered 400 with its JSON.
 * export const echo = (request: Request) =>
 *   echoResponse(request).pipe(
 *     Effect.tapErrorTag("InvalidRoom", (error: InvalidRoom) => Effect.logInfo(`bad room ${error.room}`))
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class InvalidRoom extends TaggedHttpError("InvalidRoom")<{ readonly room: string }> {
  readonly status = 400
  readonly code = "INVALID_ROOM"
  readonly headers = {}
  override get message() {
    return `room must be 1 to 64 letters, digits, dots, dashes or underscores, got ${JSON.stringify(this.room)}`
  }
}

/**
 * A query parameter whose value is not one of those allowed, such as `?serialization=xml` on `/rpc`. Answered
 * with 400, naming the parameter, the value and what is allowed.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
 * import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
 * import * as Effect from "effect/Effect"
 * import { InvalidParameter } from "websocket-echo/HttpError"
 *
 * // `/export?format=xml` answers 400 INVALID_PARAMETER, naming the parameter, its value and what is allowed.
 * const exportData = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
 *   const format = new URL(request.url, "http://app").searchParams.get("format") ?? "json"
 *   return format === "json" || format === "csv"
 *     ? Effect.succeed(HttpServerResponse.text(`exported as ${format}`))
 *     : Effect.fail(new InvalidParameter({ name: "format", value: format, allowed: "one of json, csv" }))
 * })
 *
 * export const router = HttpRouter.empty.pipe(HttpRouter.get("/export", exportData))
 * ```
 *
 * @since 2.0.0
 */
export class InvalidParameter extends TaggedHttpError("InvalidParameter")<{
  readonly name: string
  readonly value: string
  readonly allowed: string
}> {
  readonly status = 400
  readonly code = "INVALID_PARAMETER"
  readonly headers = {}
  override get message() {
    return `${this.name} must be ${this.allowed}, got ${JSON.stringify(this.value)}`
  }
}

/**
 * A query parameter that `/echo` does not know, so that a typo is never silently ignored. Answered with 400.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { echoResponse } from "websocket-echo/EchoServer"
 * import type { UnknownParameter } from "websocket-echo/HttpError"
 *
 * // `?dealy_ms=2000` is a typo, not a plain echo: answered 400 with the known names, and logged.
 * export const echo = (request: Request) =>
 *   echoResponse(request).pipe(
 *     Effect.tapErrorTag("UnknownParameter", (error: UnknownParameter) =>
 *       Effect.logInfo(`unknown ${error.name}; known: ${error.known.join(", ")}`)
 *     )
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class UnknownParameter extends TaggedHttpError("UnknownParameter")<{
  readonly name: string
  readonly known: ReadonlyArray<string>
}> {
  readonly status = 400
  readonly code = "UNKNOWN_PARAMETER"
  readonly headers = {}
  override get message() {
    return `Unknown parameter ${JSON.stringify(this.name)}; the known ones are ${this.known.join(", ")}`
  }
}

/**
 * An upgrade refused because the client asked for it (`reject=S`): answered with S, and `Retry-After` if asked.
 *
 * @example
 * ```ts
 * import { errorResponse, RejectedOnRequest } from "websocket-echo/HttpError"
 *
 * // A fake server for a client's retry test, answering as the echo does `?reject=503&retry_after=2`:
 * // 503, `Retry-After: 2` and {"error":…,"code":"REJECTED_ON_REQUEST"}.
 * export default {
 *   fetch: () => errorResponse(new RejectedOnRequest({ status: 503, retryAfter: 2 }))
 * } satisfies ExportedHandler
 * ```
 *
 * @since 2.0.0
 */
export class RejectedOnRequest extends TaggedHttpError("RejectedOnRequest")<{
  readonly status: number
  readonly retryAfter: number | undefined
}> {
  readonly code = "REJECTED_ON_REQUEST"
  get headers(): Record<string, string> {
    return this.retryAfter === undefined ? {} : { "retry-after": String(this.retryAfter) }
  }
  override get message() {
    return `Upgrade refused with ${this.status}, as the request asked (reject=${this.status})`
  }
}

/**
 * A room that already holds `MAX_ROOM_SOCKETS` sockets. Answered with 503.
 *
 * @example
 * ```ts
 * import { errorResponse, RoomFull } from "websocket-echo/HttpError"
 *
 * // A fake server for a client's test, answering as a full room does: 503 and {"error":…,"code":"ROOM_FULL"}.
 * export default {
 *   fetch: () => errorResponse(new RoomFull({ room: "lobby", limit: 100 }))
 * } satisfies ExportedHandler
 * ```
 *
 * @since 2.0.0
 */
export class RoomFull extends TaggedHttpError("RoomFull")<{ readonly room: string; readonly limit: number }> {
  readonly status = 503
  readonly code = "ROOM_FULL"
  readonly headers = {}
  override get message() {
    return `Room ${JSON.stringify(this.room)} is full: it holds ${this.limit} sockets, the most a room may`
  }
}

/**
 * An upgrade that needs a room (`?room=NAME`, `broadcast=true`, or `ECHO_BACKEND=durable-object`) where the app
 * provides no rooms. Answered with 501, saying what to provide: the `EchoRooms` layer over a Durable Object
 * namespace bound to the `EchoRoom` class.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { echoResponse } from "websocket-echo/EchoServer"
 * import type { RoomsUnavailable } from "websocket-echo/HttpError"
 *
 * // This app has no rooms: a room upgrade gets 501 ROOMS_UNAVAILABLE, and the app counts how often it is asked.
 * export const echo = (request: Request) =>
 *   echoResponse(request).pipe(
 *     Effect.tapErrorTag("RoomsUnavailable", (_: RoomsUnavailable) => Effect.logInfo("a room was asked for"))
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class RoomsUnavailable extends TaggedHttpError("RoomsUnavailable") {
  readonly status = 501
  readonly code = "ROOMS_UNAVAILABLE"
  readonly headers = {}
  override readonly message =
    "This server has no rooms: provide EchoRooms.layer with a Durable Object namespace bound to EchoRoom"
}

/**
 * A room that could not take the upgrade: its Durable Object was overloaded, reset or unreachable. Answered with
 * 503 and `Retry-After`, since the same request may well succeed a moment later. The cause is logged, never sent.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { echoResponse } from "websocket-echo/EchoServer"
 * import type { HttpError, RoomUnavailable } from "websocket-echo/HttpError"
 *
 * const isRoomUnavailable = (error: HttpError): error is RoomUnavailable => error._tag === "RoomUnavailable"
 *
 * // A room that was reset a moment ago often takes the same upgrade at once: try twice more before the 503.
 * export const echo = (request: Request) =>
 *   echoResponse(request).pipe(Effect.retry({ times: 2, while: isRoomUnavailable }))
 * ```
 *
 * @since 2.0.0
 */
export class RoomUnavailable extends TaggedHttpError("RoomUnavailable")<{ readonly cause: unknown }> {
  readonly status = 503
  readonly code = "ROOM_UNAVAILABLE"
  readonly headers = { "retry-after": "1" }
  override readonly message = "The room could not take the connection right now; retry in a moment"
}

/**
 * A tap that already has `MAX_TAP_WATCHERS` watchers, or already taps `MAX_ROOM_SOCKETS` sockets. Answered with
 * 503.
 *
 * @example
 * ```ts
 * import type { HttpError } from "websocket-echo/HttpError"
 *
 * // A full tap is a reason to wait for a watcher to leave, not to retry at once.
 * export const tapIsFull = (error: HttpError) => error._tag === "TapFull"
 * ```
 *
 * @since 2.0.0
 */
export class TapFull extends TaggedHttpError("TapFull")<{
  readonly tap: string
  readonly of: "watchers" | "sockets"
  readonly limit: number
}> {
  readonly status = 503
  readonly code = "TAP_FULL"
  readonly headers = {}
  override get message() {
    return `Tap ${JSON.stringify(this.tap)} is full: it has ${this.limit} ${this.of}, the most a tap may`
  }
}

/**
 * A tap (`?tap=NAME`, `/tap/NAME`) where the server has none: taps live in the websocket-echo Worker's `EchoTap`
 * Durable Objects, which the package does not ship. Answered with 501.
 *
 * @example
 * ```ts
 * import { errorResponse, TapsUnavailable } from "websocket-echo/HttpError"
 *
 * // What an app that mounts the echo with its behaviours on answers to ?tap=NAME.
 * export const noTaps = errorResponse(new TapsUnavailable())
 * ```
 *
 * @since 2.0.0
 */
export class TapsUnavailable extends TaggedHttpError("TapsUnavailable") {
  readonly status = 501
  readonly code = "TAPS_UNAVAILABLE"
  readonly headers = {}
  override readonly message =
    "This server has no taps: a tap is served by the websocket-echo Worker, which binds EchoTap as ECHO_TAPS"
}

/**
 * A tap whose Durable Object could not be reached. Answered with 503 and `Retry-After`; the cause is logged.
 *
 * @example
 * ```ts
 * import type { HttpError } from "websocket-echo/HttpError"
 *
 * export const retryable = (error: HttpError) => error._tag === "TapUnavailable" || error._tag === "RoomUnavailable"
 * ```
 *
 * @since 2.0.0
 */
export class TapUnavailable extends TaggedHttpError("TapUnavailable")<{ readonly cause: unknown }> {
  readonly status = 503
  readonly code = "TAP_UNAVAILABLE"
  readonly headers = { "retry-after": "1" }
  override readonly message = "The tap could not be reached right now; retry in a moment"
}

/**
 * Every error the service answers a request with.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { echoResponse } from "websocket-echo/EchoServer"
 * import type { HttpError } from "websocket-echo/HttpError"
 *
 * // Every refusal of the echo, logged by its code before it renders itself.
 * const refused = (error: HttpError) => Effect.logInfo(`refused ${error.status} ${error.code}`)
 *
 * export const echo = (request: Request) => echoResponse(request).pipe(Effect.tapError(refused))
 * ```
 *
 * @since 2.0.0
 */
export type HttpError =
  | NotWebSocket
  | UnsupportedUpgrade
  | UnsupportedVersion
  | MethodNotAllowed
  | NotFound
  | InternalError
  | OriginNotAllowed
  | InvalidSubprotocol
  | SubprotocolNotSupported
  | InvalidRoom
  | InvalidParameter
  | UnknownParameter
  | RejectedOnRequest
  | RoomFull
  | RoomsUnavailable
  | RoomUnavailable
  | TapFull
  | TapsUnavailable
  | TapUnavailable

/**
 * The JSON body of an error's response.
 *
 * @example
 * ```ts
 * import { errorBody, NotWebSocket } from "websocket-echo/HttpError"
 *
 * // { error: "Expected WebSocket upgrade request (Upgrade: websocket)", code: "NOT_WEBSOCKET" }
 * export const body = errorBody(new NotWebSocket())
 * ```
 *
 * @since 2.0.0
 */
export const errorBody = (error: HttpError): ErrorBody => ({ error: error.message, code: error.code })

/**
 * The one place where an error becomes a response: its status, its headers, and `{error, code}` as JSON.
 *
 * @example
 * ```ts
 * import { errorResponse, NotFound } from "websocket-echo/HttpError"
 *
 * // Plain Workers code: the same JSON 404 as the echo's own.
 * export default {
 *   fetch: () => errorResponse(new NotFound())
 * } satisfies ExportedHandler
 * ```
 *
 * @since 2.0.0
 */
export const errorResponse = (error: HttpError): Response =>
  new Response(JSON.stringify(errorBody(error)), {
    status: error.status,
    headers: { "content-type": "application/json", ...error.headers }
  })
