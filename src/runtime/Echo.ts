import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { type CloseFrame, closeReply, internalError, messageTooBig } from "../domain/CloseFrame.js"
import { idleTimeout } from "../domain/IdleTimeout.js"
import { type Message, prefixMessage } from "../domain/Message.js"
import { rateLimited } from "../domain/RateLimit.js"
import type { Pipeline } from "../services/EchoConfig.js"
import type { Connection, ConnectionEnded, ConnectionStats, LimitExceeded } from "../services/WebSocketService.js"

/** How a connection ended: the peer's close frame, if it sent one, and ours. */
interface Ending {
  readonly peer: CloseFrame | undefined
  readonly reply: CloseFrame
}

/** The close frame for a limit that was exceeded: 1009 for size, 1008 for rate. */
export const limitReply = (exceeded: LimitExceeded): CloseFrame =>
  exceeded._tag === "MessageTooLarge" ? messageTooBig : rateLimited

/** The close frame for a failure of the echo: the limit exceeded, the idle timeout, or 1011 for anything else. */
const endingOf = (cause: Cause.Cause<unknown>): Effect.Effect<Ending> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const tag = (failure.value as Partial<ConnectionEnded>)?._tag
    if (tag === "MessageTooLarge" || tag === "RateLimitExceeded") {
      return Effect.succeed({ peer: undefined, reply: limitReply(failure.value as LimitExceeded) })
    }
    if (tag === "IdleTimeoutExpired") return Effect.succeed({ peer: undefined, reply: idleTimeout })
  }
  return Effect.as(Effect.logError("echo failed", cause), { peer: undefined, reply: internalError })
}

/**
 * Supervises one connection while `pump` echoes it: answers the peer's close
 * (or closes for the limit or idle timeout that ended it, or with 1011 when the
 * pump failed, logged once), and writes one log line when it ends.
 */
const supervise = <E>(connection: Connection, pump: Effect.Effect<void, E>) =>
  Effect.gen(function* () {
    const openedAt = yield* Clock.currentTimeMillis
    const ended = yield* pump.pipe(
      Effect.zipRight(connection.closed),
      Effect.map((peer): Ending => ({ peer, reply: closeReply(peer) })),
      Effect.catchAllCause(endingOf)
    )
    yield* connection.close(ended.reply)
    yield* connectionEnded({
      connection: connection.id,
      protocol: connection.protocol,
      durationMs: (yield* Clock.currentTimeMillis) - openedAt,
      stats: yield* connection.stats,
      ...ended
    })
  }).pipe(Effect.catchAllCause((cause) => Effect.logError("echo failed", cause)))

/**
 * The one log line of a connection, written when it ends, in every pipeline and backend: its id, subprotocol,
 * duration, traffic and both close codes (never message contents), and any `extra` fields of the backend.
 */
export const connectionEnded = (ending: {
  readonly connection: string
  readonly protocol: string | undefined
  readonly durationMs: number
  readonly stats: ConnectionStats
  readonly peer: CloseFrame | undefined
  readonly reply: CloseFrame
  readonly extra?: Record<string, unknown>
}): Effect.Effect<void> =>
  Effect.logInfo("connection ended").pipe(
    Effect.annotateLogs({
      connection: ending.connection,
      protocol: ending.protocol ?? null,
      durationMs: ending.durationMs,
      ...ending.stats,
      peerCloseCode: ending.peer?.code ?? null,
      closeCode: ending.reply.code,
      ...ending.extra
    })
  )

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
 * The echo as a `Stream`: the connection's messages, mapped through the
 * prefix, sent a chunk at a time by the connection's own fiber, which wakes
 * once per message (or per chunk). Pick it to compose the messages with other
 * streams and Effect operators. Every message goes back in order; the peer's
 * close is answered (or the limit or idle timeout that ended the connection);
 * one log line tells how it went.
 */
export const streamEcho = (connection: Connection, prefix: string): Effect.Effect<void> =>
  supervise(connection, connection.messages.pipe(Stream.map(prefixMessage(prefix)), sendEach(connection)))

/**
 * The echo as a handler: the prefix applied and sent synchronously inside each
 * message's event, so no fiber wakes per message; the connection's fiber wakes
 * only when it ends. Pick it when the cost per message matters, which on
 * Workers is billed CPU. Otherwise the same as `streamEcho`.
 */
export const handlerEcho = (connection: Connection, prefix: string): Effect.Effect<void> =>
  supervise(connection, connection.run(prefixMessage(prefix)))

/** The echo program of each pipeline. */
export const echoPrograms: Record<Pipeline, (connection: Connection, prefix: string) => Effect.Effect<void>> = {
  stream: streamEcho,
  handler: handlerEcho
}
