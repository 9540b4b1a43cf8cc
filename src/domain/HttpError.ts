import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Types from "effect/Types"
import { MAX_SUBPROTOCOL_BYTES } from "./Subprotocol.js"

/** The JSON body of every error response. */
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

/** A path that does not exist. Answered with 404. */
export class NotFound extends TaggedHttpError("NotFound") {
  readonly status = 404
  readonly code = "NOT_FOUND"
  readonly headers = {}
  override readonly message = "Not found; the echo is at GET /echo with Upgrade: websocket"
}

/** An unexpected defect. Answered with 500 and a fixed text: nothing of the defect reaches the client. */
export class InternalError extends TaggedHttpError("InternalError") {
  readonly status = 500
  readonly code = "INTERNAL_ERROR"
  readonly headers = {}
  override readonly message = "Internal server error"
}

/**
 * A WebSocket upgrade from an origin that is not allowed, or without an
 * `Origin` when one is required (RFC 6455 §10.2). Answered with 403.
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

/** A `room` query parameter that is not a room name. Answered with 400. */
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

/** A query parameter that `/echo` does not know, so that a typo is never silently ignored. Answered with 400. */
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

/** An upgrade refused because the client asked for it (`reject=S`): answered with S, and `Retry-After` if asked. */
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

/** A room that already holds `MAX_ROOM_SOCKETS` sockets. Answered with 503. */
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

/** A tap (`?tap=NAME`, `/tap/NAME`) where the app provides no taps. Answered with 501, saying what to provide. */
export class TapsUnavailable extends TaggedHttpError("TapsUnavailable") {
  readonly status = 501
  readonly code = "TAPS_UNAVAILABLE"
  readonly headers = {}
  override readonly message =
    "This server has no taps: provide EchoTaps.layer with a Durable Object namespace bound to EchoTap"
}

/** A tap whose Durable Object could not be reached. Answered with 503 and `Retry-After`; the cause is logged. */
export class TapUnavailable extends TaggedHttpError("TapUnavailable")<{ readonly cause: unknown }> {
  readonly status = 503
  readonly code = "TAP_UNAVAILABLE"
  readonly headers = { "retry-after": "1" }
  override readonly message = "The tap could not be reached right now; retry in a moment"
}

/** Every error the service answers a request with. */
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

/** The JSON body of an error's response. */
export const errorBody = (error: HttpError): ErrorBody => ({ error: error.message, code: error.code })

/** The one place where an error becomes a response: its status, its headers, and `{error, code}` as JSON. */
export const errorResponse = (error: HttpError): Response =>
  new Response(JSON.stringify(errorBody(error)), {
    status: error.status,
    headers: { "content-type": "application/json", ...error.headers }
  })
