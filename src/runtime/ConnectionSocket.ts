import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { type CloseFrame, connectionDropped } from "../domain/CloseFrame.js"
import type { Message } from "../domain/Message.js"
import { type Connection, isConnectionEnded } from "../services/WebSocketService.js"
import { superviseExit } from "./Echo.js"

/**
 * How a `Socket` made by `toSocket` reads close codes.
 *
 * @example
 * ```ts
 * import { type Connection, type SocketOptions, toSocket } from "websocket-echo/Connection"
 *
 * // As @effect/platform's default (every code but 1000 and 1006 is an error), but the app's own codes
 * // (4000–4999) end a run quietly too; and one log line per socket.
 * const options: SocketOptions = {
 *   closeCodeIsError: (code) => code !== 1000 && code !== 1006 && code < 4000,
 *   log: true
 * }
 *
 * export const socketOf = (connection: Connection) => toSocket(connection, options)
 * ```
 *
 * @since 2.0.0
 */
export interface SocketOptions {
  /**
   * Whether a close code ends `run`/`runRaw` with `SocketCloseError`; otherwise they complete. The default
   * is @effect/platform's own (`Socket.defaultCloseCodeIsError`): every code but 1000 and 1006 is an error.
   */
  readonly closeCodeIsError?: (code: number) => boolean
  /**
   * Whether the connection's end is logged: one Info line, "connection ended", with its fields (`logFields`).
   * Off by default: the socket adds no log line of its own unless the app asks for it.
   */
  readonly log?: boolean
}

/**
 * What @effect/platform's `Socket` writes, as a message of ours: bytes as an `ArrayBuffer` of their own. A view
 * into a larger buffer is copied (`new Uint8Array(view)`, never `view.slice()`, which a Node `Buffer`, as
 * msgpackr makes, answers with another view of its whole pool).
 */
const toMessage = (chunk: string | Uint8Array): Message =>
  typeof chunk === "string"
    ? chunk
    : chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
      ? (chunk.buffer as ArrayBuffer)
      : (new Uint8Array(chunk).buffer as ArrayBuffer)

/**
 * A write of the writer: an `Effect` that sends `[written]` when run. A handler that returns one has its message
 * sent inside the event (`Connection.run`'s reply), with no fiber: the echo's shape, `runRaw((data) =>
 * write(...))`, costs what a handler returning the message costs (measured in bench/README.md).
 */
const written = Symbol.for("websocket-echo/ConnectionSocket/written")

interface Write {
  readonly [written]: Message
}

const closeError = ({ code, reason }: CloseFrame) =>
  new Socket.SocketCloseError({ reason: "Close", code, closeReason: reason })

/**
 * A `Connection` as @effect/platform's `Socket.Socket`, so that code written against `Socket` runs on our
 * connections (the Worker's, or `WebSocketService.layerTest`'s in a unit test).
 *
 * - `runRaw` calls its handler synchronously inside each message's event, after the size and rate checks,
 *   with text as a `string` and binary as a `Uint8Array`. A handler's `Effect` starts in the event too
 *   (`Connection.run`): this writer's write is sent at once, and only an effect that suspends becomes a fiber.
 *   Frames that arrived before `runRaw` are delivered first, in order. `run` is `runRaw` with text as UTF-8.
 * - The run ends when the connection does, which it ends through our close rules: the peer's close is
 *   mirrored (1000 for none, 1002 for an invalid code), a limit closes with 1009 or 1008, the idle timeout
 *   with 1001, a failed handler with 1011 (the run then fails with the handler's error); with `log`, one log
 *   line is written. The run fails with `SocketCloseError` when `closeCodeIsError` calls the close code an error:
 *   the peer's code, or ours when a limit or the idle timeout ended it.
 * - The writer sends strings and bytes as they are, and a `CloseEvent` as the close frame it gives; the
 *   run then ends with the peer's answer. Writes after a close are dropped.
 *
 * @example
 * ```ts
 * import type * as Socket from "@effect/platform/Socket"
 * import * as Effect from "effect/Effect"
 * import * as Queue from "effect/Queue"
 * import { type TestPeer, toSocket, WebSocketService } from "websocket-echo/Connection"
 *
 * // Code written against @effect/platform's Socket, tested on an in-memory connection with no Workers runtime.
 * const shout = (socket: Socket.Socket) =>
 *   Effect.gen(function* () {
 *     const write = yield* socket.writer
 *     yield* socket.runRaw((data) => write(typeof data === "string" ? data.toUpperCase() : data))
 *   })
 *
 * export const test = Effect.gen(function* () {
 *   const peers = yield* Queue.unbounded<TestPeer>()
 *   const connection = yield* Effect.flatMap(WebSocketService, (service) =>
 *     service.upgrade({ maxMessageBytes: 1024 })
 *   ).pipe(Effect.provide(WebSocketService.layerTest(peers)))
 *   yield* Effect.fork(Effect.scoped(shout(toSocket(connection))))
 *   const peer = yield* Queue.take(peers)
 *   yield* peer.send("hi")
 *   return yield* peer.receive // { _tag: "Message", message: "HI" }
 * })
 * ```
 *
 * @since 2.0.0
 */
export const toSocket = (connection: Connection, options: SocketOptions = {}): Socket.Socket => {
  const closeCodeIsError = options.closeCodeIsError ?? Socket.defaultCloseCodeIsError
  const runRaw = <_, E = never, R = never>(
    // biome-ignore lint/suspicious/noConfusingVoidType: the handler's type is @effect/platform's own
    handler: (data: string | Uint8Array) => Effect.Effect<_, E, R> | void,
    runOptions?: { readonly onOpen?: Effect.Effect<void> | undefined }
  ): Effect.Effect<void, Socket.SocketError | E, R> => {
    const pump = connection.run((message: Message) => {
      const result = handler(typeof message === "string" ? message : new Uint8Array(message))
      if (!Effect.isEffect(result)) return undefined
      // A handler that answers with this writer's write sends that message now, as running the write would.
      return (result as Partial<Write>)[written] ?? Effect.as(result, undefined)
    })
    return Effect.flatMap(
      superviseExit(
        connection,
        runOptions?.onOpen === undefined ? pump : Effect.zipRight(runOptions.onOpen, pump),
        undefined,
        options.log ?? false
      ),
      ({ exit, ending }): Effect.Effect<void, Socket.SocketError | E> => {
        if (Exit.isFailure(exit) && !Option.exists(Cause.failureOption(exit.cause), isConnectionEnded)) {
          return Effect.failCause(exit.cause as Cause.Cause<E>)
        }
        // The close that ended the connection: the peer's, or ours for a limit or the idle timeout.
        const frame = Exit.isSuccess(exit) ? exit.value : (ending.reply ?? connectionDropped)
        return closeCodeIsError(frame.code) ? Effect.fail(closeError(frame)) : Effect.void
      }
    )
  }
  const encoder = new TextEncoder()
  const write = (chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void> => {
    if (Socket.isCloseEvent(chunk)) return connection.sendClose({ code: chunk.code, reason: chunk.reason ?? "" })
    const message = toMessage(chunk)
    return Object.assign(connection.send(message), { [written]: message })
  }
  return Socket.Socket.of({
    [Socket.TypeId]: Socket.TypeId,
    runRaw,
    run: (handler, runOptions) =>
      runRaw((data) => handler(typeof data === "string" ? encoder.encode(data) : data), runOptions),
    writer: Effect.succeed(write)
  })
}
