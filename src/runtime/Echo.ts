import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { type CloseFrame, closeReply, internalError, invalidCloseCode, messageTooBig } from "../domain/CloseFrame.js"
import { type ConnectionEnd, logFields } from "../domain/ConnectionMachine.js"
import { IdleTimeoutExpired, idleRemainingMs, idleTimeout } from "../domain/IdleTimeout.js"
import { type Message, prefixMessage } from "../domain/Message.js"
import { rateLimited } from "../domain/RateLimit.js"
import { connectionInfo, type RequestInfo } from "../domain/RequestInfo.js"
import { closeAfterEchoes, isPlainEcho, noScenario, type Scenario } from "../domain/Scenario.js"
import type { Pipeline } from "../services/EchoConfig.js"
import {
  asyncFiberOf,
  type Connection,
  type ConnectionEnded,
  type ConnectionStats,
  type LimitExceeded
} from "../services/WebSocketService.js"

/** How a connection ended: the peer's close frame, if it sent one, and ours. */
export interface Ending {
  readonly peer: CloseFrame | undefined
  readonly reply: CloseFrame
}

/** The close frame for a limit that was exceeded: 1009 for size, 1008 for rate. */
export const limitReply = (exceeded: LimitExceeded): CloseFrame =>
  exceeded._tag === "MessageTooLarge" ? messageTooBig : rateLimited

/** The close frame sent when the server stopped a connection's program (RFC 6455 §7.4.1: 1001). */
const goingAway: CloseFrame = { code: 1001, reason: "going away" }

/**
 * How a connection's program ended: the peer's close answered by the close rules; a limit or the idle
 * timeout with its close frame; an interruption with 1001; any other failure with 1011.
 */
const endingOf = (exit: Exit.Exit<CloseFrame, unknown>): Ending => {
  // The peer's frame does not say whether it was a drop or a 1006 on the wire (`CloseEvent.wasClean` does): both
  // keep their 1002 here until this driver steps ConnectionMachine, which tells them apart.
  if (Exit.isSuccess(exit)) return { peer: exit.value, reply: closeReply(exit.value) ?? invalidCloseCode }
  const failure = Option.getOrUndefined(Cause.failureOption(exit.cause)) as Partial<ConnectionEnded> | undefined
  switch (failure?._tag) {
    case "MessageTooLarge":
    case "RateLimitExceeded":
      return { peer: undefined, reply: limitReply(failure as LimitExceeded) }
    case "IdleTimeoutExpired":
      return { peer: undefined, reply: idleTimeout }
  }
  return { peer: undefined, reply: Cause.isInterruptedOnly(exit.cause) ? goingAway : internalError }
}

/**
 * Supervises one connection while `pump` serves it, and ends it when `pump` does, even when interrupted:
 * answers the peer's close (or closes for the limit or idle timeout that ended it, 1001 when it was
 * interrupted, 1011 when it failed), and writes one log line. Returns how `pump` ended (with the peer's close
 * frame once the peer closed) and the ending. Every program on a `Connection` ends through this. `extra` fields
 * go on the log line.
 */
export const superviseExit = <E, R>(
  connection: Connection,
  pump: Effect.Effect<void, E, R>,
  extra?: Record<string, unknown>
): Effect.Effect<{ readonly exit: Exit.Exit<CloseFrame, E>; readonly ending: Ending }, never, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.exit(restore(Effect.zipRight(pump, connection.closed))), (exit) => {
      const ending = endingOf(exit)
      return Effect.flatMap(connection.close(ending.reply), (reply) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.flatMap(connection.stats, (stats) =>
            Effect.as(
              connectionEnded({
                connection: connection.id,
                protocol: connection.protocol,
                durationMs: now - connection.openedAt,
                stats,
                peer: ending.peer,
                reply,
                extra
              }),
              { exit, ending: { peer: ending.peer, reply } }
            )
          )
        )
      )
    })
  )

/** An echo program: `superviseExit`, with a failure of the echo itself (not a limit) logged once. */
const supervise = <E>(
  connection: Connection,
  pump: Effect.Effect<void, E>,
  extra?: Record<string, unknown>
): Effect.Effect<void> =>
  Effect.flatMap(superviseExit(connection, pump, extra), ({ exit }) =>
    Exit.isFailure(exit) && endingOf(exit).reply === internalError
      ? Effect.logError("echo failed", exit.cause)
      : Effect.void
  ).pipe(Effect.catchAllCause((cause) => Effect.logError("echo failed", cause)))

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
  readonly extra?: Record<string, unknown> | undefined
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
 * The one log line of a connection, from the step of its machine that ended it (`logFields`): the same line in
 * every shape and backend.
 */
export const logEnded = (
  end: ConnectionEnd,
  connection: string,
  protocol: string | undefined,
  extra?: Record<string, unknown>
): Effect.Effect<void> =>
  Effect.logInfo("connection ended").pipe(Effect.annotateLogs(logFields(end, connection, protocol, extra)))

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
 * one log line tells how it went. A `scenario` adds the behaviours a client
 * asked for (`parseScenario`), as Stream operators; `request` is what
 * `info=true` reports.
 */
export const streamEcho = (
  connection: Connection,
  prefix: string,
  scenario: Scenario = noScenario,
  request?: RequestInfo
): Effect.Effect<void> => {
  const echoes = connection.messages.pipe(Stream.map(prefixMessage(prefix)))
  if (isPlainEcho(scenario)) return supervise(connection, sendEach(connection)(echoes))
  // A silent server has no stream to build: the handler's (a no-op per message, then the idle timeout) is it.
  if (scenario.stall) return handlerEcho(connection, prefix, scenario)
  const { close, push, delayMs } = scenario
  const delayed =
    delayMs === 0
      ? echoes
      : Stream.mapEffect(echoes, (reply) => Effect.delay(Effect.succeed(reply), delayMs), { concurrency: "unbounded" })
  const limit = close === undefined ? Number.POSITIVE_INFINITY : closeAfterEchoes(close)
  const counted = limit === Number.POSITIVE_INFINITY ? delayed : Stream.take(delayed, limit)
  const opened = Stream.concat(Stream.fromIterable(opening(connection, scenario, request)), counted)
  const pushed =
    push === undefined
      ? opened
      : Stream.merge(
          opened,
          Stream.fromSchedule(Schedule.spaced(push.everyMs)).pipe(Stream.take(push.count), Stream.as(push.text)),
          { haltStrategy: "left" }
        )
  const timed = close?.afterMs === undefined ? pushed : Stream.interruptWhen(pushed, Effect.sleep(close.afterMs))
  const pump = sendEach(connection)(timed)
  return supervise(
    connection,
    close === undefined ? pump : Effect.zipRight(pump, connection.sendClose(close.frame)),
    logged(scenario)
  )
}

/**
 * The echo as a handler: the prefix applied and sent synchronously inside each
 * message's event, so no fiber wakes per message, and no fiber waits for the
 * socket to close. Pick it when the cost per message matters, which on Workers
 * is billed CPU. Otherwise the same as `streamEcho`; its `scenario` runs on the
 * platform's timers (`Connection.unsafeSchedule`). This is `startHandlerEcho`
 * as an Effect, which completes when the connection has ended.
 */
export const handlerEcho = (
  connection: Connection,
  prefix: string,
  scenario: Scenario = noScenario,
  request?: RequestInfo
): Effect.Effect<void> =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Effect.async<void>((resume) => {
      const { ended, stop } = startHandlerEcho(runtime, connection, prefix, scenario, request)
      ended.then(() => resume(Effect.void))
      return Effect.promise(() => {
        stop()
        return ended
      })
    })
  )

/**
 * The handler echo without a fiber of its own, as the Worker runs it: `connection.unsafeRun` calls the handler
 * in each message's event and the scenario runs on the connection's timers; Effect runs only for a reply that is
 * an `Effect` and for the ending (the close frame and the log line, on `runtime`). Returns the promise that the
 * connection has ended and was logged, and a function that stops it as an interruption would (1001).
 */
export const startHandlerEcho = (
  runtime: Runtime.Runtime<never>,
  connection: Connection,
  prefix: string,
  scenario: Scenario = noScenario,
  request?: RequestInfo
): { readonly ended: Promise<void>; readonly stop: () => void } => {
  let stop: () => void = () => undefined
  const plain = isPlainEcho(scenario)
  const handler = plain
    ? prefixMessage(prefix)
    : scenario.stall
      ? () => undefined
      : scenarioHandler(connection, prefixMessage(prefix), scenario, request)
  const ended = new Promise<void>((resolve) => {
    stop = connection.unsafeRun(runtime, handler, (exit) => {
      // A stalled socket leaves the peer's close unanswered until its idle timeout.
      const pump = scenario.stall ? Effect.zipRight(exit, untilIdle(connection)) : exit
      // The ending completes in the event that ended the connection, unless it has to wait (a stalled socket).
      const ending = Runtime.runSyncExit(runtime, supervise(connection, pump, plain ? undefined : logged(scenario)))
      const fiber = asyncFiberOf(ending)
      if (fiber === undefined) resolve()
      else fiber.addObserver(() => resolve())
    })
  })
  return { ended, stop }
}

/** Sends what opens a scenario's connection, starts its timers, and returns the handler of its messages. */
const scenarioHandler = (
  connection: Connection,
  transform: (message: Message) => Message,
  scenario: Scenario,
  request: RequestInfo | undefined
): ((message: Message) => undefined) => {
  const { close, push, delayMs } = scenario
  for (const message of opening(connection, scenario, request)) connection.unsafeSend(message)
  const limit = close === undefined ? Number.POSITIVE_INFINITY : closeAfterEchoes(close)
  let echoed = 0
  const echo = (reply: Message) => {
    if (echoed >= limit) return
    connection.unsafeSend(reply)
    if (++echoed === limit && close !== undefined) connection.unsafeSendClose(close.frame)
  }
  if (close !== undefined) {
    if (limit === 0) connection.unsafeSendClose(close.frame)
    if (close.afterMs !== undefined)
      connection.unsafeSchedule(close.afterMs, () => connection.unsafeSendClose(close.frame))
  }
  if (push !== undefined) {
    let left = push.count
    const tick = () => {
      connection.unsafeSend(push.text)
      if (--left > 0) connection.unsafeSchedule(push.everyMs, tick)
    }
    connection.unsafeSchedule(push.everyMs, tick)
  }
  return (message) => {
    const reply = transform(message)
    if (delayMs === 0) echo(reply)
    else connection.unsafeSchedule(delayMs, () => echo(reply))
    return undefined
  }
}

/** The messages that open a scenario's connection, in order: its info, then its greeting. */
const opening = (connection: Connection, scenario: Scenario, request: RequestInfo | undefined): Array<Message> => {
  const messages: Array<Message> = []
  if (scenario.info && request !== undefined) {
    messages.push(connectionInfo(request, connection.protocol, connection.id))
  }
  if (scenario.greeting !== undefined) messages.push(scenario.greeting)
  return messages
}

/**
 * A server that went silent (`stall=true`), once the peer has closed: it leaves the close unanswered until the idle
 * timeout, counted from the last message either way, ends the connection with 1001.
 */
const untilIdle = (connection: Connection): Effect.Effect<never, IdleTimeoutExpired> =>
  Effect.flatMap(Effect.zip(connection.lastActivity, Clock.currentTimeMillis), ([last, now]) => {
    const remaining = idleRemainingMs(last, now, connection.idleTimeoutMs)
    return remaining <= 0
      ? Effect.fail(new IdleTimeoutExpired())
      : Effect.zipRight(Effect.sleep(remaining), untilIdle(connection))
  })

/** The log fields of a scenario: the names of the behaviours it used, never their text. */
const logged = (scenario: Scenario): Record<string, unknown> => ({ behaviours: scenario.behaviours })

/** The echo program of each pipeline. */
export const echoPrograms: Record<
  Pipeline,
  (connection: Connection, prefix: string, scenario?: Scenario, request?: RequestInfo) => Effect.Effect<void>
> = {
  stream: streamEcho,
  handler: handlerEcho
}
