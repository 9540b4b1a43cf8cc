import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { type CloseFrame, closeReply, messageTooBig } from "../domain/CloseFrame.js"
import { MethodNotAllowed, NotWebSocket } from "../domain/HttpError.js"
import { prefixMessage } from "../domain/Message.js"
import { isWebSocketUpgrade } from "../domain/Upgrade.js"
import { EchoConfig } from "../services/EchoConfig.js"
import { type Connection, WebSocketService } from "../services/WebSocketService.js"

/** How a connection ended: the peer's close frame, if it sent one, and ours. */
interface Ending {
  readonly peer: CloseFrame | undefined
  readonly reply: CloseFrame
}

/**
 * Echoes one connection until it closes: every message goes back through the
 * prefix, in order; the peer's close is answered; one log line tells how it went.
 */
export const echo = (connection: Connection, prefix: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    const openedAt = yield* Clock.currentTimeMillis
    const ended = yield* connection.messages.pipe(
      Stream.map(prefixMessage(prefix)),
      // One effect per chunk, not per message: the per-message cost of the pipeline is what the echo costs.
      Stream.runForEachChunk(connection.sendAll),
      Effect.zipRight(connection.closed),
      Effect.map((peer): Ending => ({ peer, reply: closeReply(peer) })),
      Effect.catchTag(
        "MessageTooLarge",
        (): Effect.Effect<Ending> => Effect.succeed({ peer: undefined, reply: messageTooBig })
      )
    )
    yield* connection.close(ended.reply)
    const stats = yield* connection.stats
    const closedAt = yield* Clock.currentTimeMillis
    yield* Effect.logInfo("connection ended").pipe(
      Effect.annotateLogs({
        connection: connection.id,
        durationMs: closedAt - openedAt,
        ...stats,
        peerCloseCode: ended.peer?.code ?? null,
        closeCode: ended.reply.code
      })
    )
  }).pipe(Effect.catchAllCause((cause) => Effect.logError("echo failed", cause)))

/**
 * The echo endpoint: a WebSocket upgrade becomes a 101 whose socket is echoed
 * by a fiber of its own; anything else fails with `NotWebSocket` (426) or
 * `MethodNotAllowed` (405).
 */
export const echoHandler = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  if (request.method !== "GET" && request.method !== "HEAD") {
    return yield* new MethodNotAllowed({ method: request.method })
  }
  if (request.method === "HEAD" || !isWebSocketUpgrade(request.headers.upgrade)) {
    return yield* new NotWebSocket()
  }
  const { prefix, maxMessageBytes } = yield* EchoConfig
  const connection = yield* (yield* WebSocketService).upgrade({ maxMessageBytes })
  // The socket outlives the request: a plain fork would be interrupted when the 101 is sent.
  yield* Effect.forkDaemon(echo(connection, prefix))
  return connection.response
})

/** A router with the echo at `/echo`, ready to be concatenated into a larger app's router. */
export const EchoRouter = HttpRouter.empty.pipe(HttpRouter.all("/echo", echoHandler))
