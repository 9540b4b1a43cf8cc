import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { type CloseFrame, closeReply, messageTooBig } from "../domain/CloseFrame.js"
import { MethodNotAllowed, NotWebSocket, OriginNotAllowed } from "../domain/HttpError.js"
import { idleRemainingMs, idleTimeout } from "../domain/IdleTimeout.js"
import { type Message, prefixMessage } from "../domain/Message.js"
import { isOriginAllowed } from "../domain/Origin.js"
import { rateLimited } from "../domain/RateLimit.js"
import { isWebSocketUpgrade } from "../domain/Upgrade.js"
import { EchoConfig } from "../services/EchoConfig.js"
import { type Connection, WebSocketService } from "../services/WebSocketService.js"

/** How a connection ended: the peer's close frame, if it sent one, and ours. */
interface Ending {
  readonly peer: CloseFrame | undefined
  readonly reply: CloseFrame
}

/**
 * Completes once the connection has carried no message either way for
 * `timeoutMs`. Wakes once per timeout period, not per message: each wake-up
 * sleeps for whatever remains after the last activity.
 */
const idleFor = (connection: Connection, timeoutMs: number): Effect.Effect<Ending> =>
  Effect.gen(function* () {
    while (true) {
      const remaining = idleRemainingMs(yield* connection.lastActivity, yield* Clock.currentTimeMillis, timeoutMs)
      if (remaining <= 0) return { peer: undefined, reply: idleTimeout }
      yield* Effect.sleep(remaining)
    }
  })

/**
 * Runs a stream of replies into the connection, a chunk at a time. Pulling the stream by hand costs
 * measurably less per message than `Stream.runForEachChunk` (no sink channel between the pull and the send).
 */
const sendEach =
  (connection: Connection) =>
  <E>(replies: Stream.Stream<Message, E>): Effect.Effect<void, E> =>
    Effect.scoped(
      Effect.flatMap(Stream.toPull(replies), (pull) => {
        const loop: Effect.Effect<void, E> = Effect.matchEffect(pull, {
          onFailure: Option.match({ onNone: () => Effect.void, onSome: Effect.fail }),
          onSuccess: (chunk) => Effect.zipRight(connection.sendAll(chunk), loop)
        })
        return loop
      })
    )

/**
 * Echoes one connection until it closes: every message goes back through the
 * prefix, in order; the peer's close is answered; one log line tells how it went.
 * With `idleTimeoutMs` above 0, a connection silent for that long is closed with 1001.
 */
export const echo = (connection: Connection, prefix: string, idleTimeoutMs = 0): Effect.Effect<void> =>
  Effect.gen(function* () {
    const openedAt = yield* Clock.currentTimeMillis
    const echoed = connection.messages.pipe(
      Stream.map(prefixMessage(prefix)),
      sendEach(connection),
      Effect.zipRight(connection.closed),
      Effect.map((peer): Ending => ({ peer, reply: closeReply(peer) })),
      Effect.catchTags({
        MessageTooLarge: (): Effect.Effect<Ending> => Effect.succeed({ peer: undefined, reply: messageTooBig }),
        RateLimitExceeded: (): Effect.Effect<Ending> => Effect.succeed({ peer: undefined, reply: rateLimited })
      })
    )
    const ended = yield* idleTimeoutMs > 0 ? Effect.race(echoed, idleFor(connection, idleTimeoutMs)) : echoed
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
 * by a fiber of its own; anything else fails with `NotWebSocket` (426),
 * `MethodNotAllowed` (405) or, for an origin that may not connect, `OriginNotAllowed` (403).
 */
export const echoHandler = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  if (request.method !== "GET" && request.method !== "HEAD") {
    return yield* new MethodNotAllowed({ method: request.method })
  }
  if (request.method === "HEAD" || !isWebSocketUpgrade(request.headers.upgrade)) {
    return yield* new NotWebSocket()
  }
  const settings = yield* EchoConfig
  if (!isOriginAllowed(settings, request.headers.origin)) {
    return yield* new OriginNotAllowed({ origin: request.headers.origin })
  }
  const { prefix, maxMessageBytes, maxMessagesPerSecond, idleTimeoutSeconds } = settings
  const connection = yield* (yield* WebSocketService).upgrade({ maxMessageBytes, maxMessagesPerSecond })
  // The socket outlives the request: a plain fork would be interrupted when the 101 is sent.
  yield* Effect.forkDaemon(echo(connection, prefix, idleTimeoutSeconds * 1000))
  return connection.response
})

/** A router with the echo at `/echo`, ready to be concatenated into a larger app's router. */
export const EchoRouter = HttpRouter.empty.pipe(HttpRouter.all("/echo", echoHandler))
