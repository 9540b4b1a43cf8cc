import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import { type CloseFrame, connectionDropped } from "../domain/CloseFrame.js"
import { type ConnectionEnd, type Input, logFields, type Opening } from "../domain/ConnectionMachine.js"
import { type Message, prefixMessage } from "../domain/Message.js"
import { connectionInfo, type RequestInfo } from "../domain/RequestInfo.js"
import { isPlainEcho, noScenario, type Scenario } from "../domain/Scenario.js"
import { type Driver, driverOf, messagesOf } from "../services/ConnectionDriver.js"
import type { Pipeline } from "../services/EchoConfig.js"
import { type Connection, isConnectionEnded } from "../services/WebSocketService.js"

/**
 * How a connection ended: the peer's close frame (if it sent one), the close frame the server sent (none when the
 * transport was gone), and the fields of its log line.
 */
export interface Ending {
  readonly peer: CloseFrame | undefined
  readonly reply: CloseFrame | undefined
  readonly end: ConnectionEnd
}

/**
 * What a program's end tells the connection's machine: done (a close owed to the peer goes out), interrupted
 * (1001) or failed (1011). A limit or the idle timeout was the machine's own decision.
 */
const endOf = (exit: Exit.Exit<unknown, unknown>): Input => {
  if (Exit.isSuccess(exit) || Option.exists(Cause.failureOption(exit.cause), isConnectionEnded)) {
    return { _tag: "Drained" }
  }
  return Cause.isInterruptedOnly(exit.cause) ? { _tag: "Stop" } : { _tag: "Fail" }
}

/**
 * Supervises one connection while `pump` serves it, and ends it when `pump` does, even when interrupted: the
 * machine answers the peer's close (or the limit that ended it) once `pump` is done, closes with 1001 when it was
 * interrupted and 1011 when it failed, and the supervisor waits for the connection's end (the peer's answer to a
 * close, at most the close timeout), then writes its one log line unless `log` is false. Returns how `pump` ended
 * (with the peer's close frame, 1006 for none, when it completed) and the ending. `extra` fields go on the log line.
 */
export const superviseExit = <E, R>(
  connection: Connection,
  pump: Effect.Effect<void, E, R>,
  extra?: Record<string, unknown>,
  log = true
): Effect.Effect<{ readonly exit: Exit.Exit<CloseFrame, E>; readonly ending: Ending }, never, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.exit(restore(pump)), (exit) => {
      const driver = driverOf(connection)
      driver.end(endOf(exit))
      return Effect.flatMap(connection.ended, (end) => {
        const peer = driver.peerClose()
        const ending: Ending = { peer, reply: driver.closeSent(), end }
        const result = {
          exit: Exit.isSuccess(exit) ? Exit.succeed(peer ?? connectionDropped) : (exit as Exit.Exit<never, E>),
          ending
        }
        return log
          ? Effect.as(logEnded(end, connection.id, connection.protocol, extra), result)
          : Effect.succeed(result)
      })
    })
  )

/** An echo program: `superviseExit`, with a failure of the echo itself (not a limit) logged once. */
const supervise = <E>(
  connection: Connection,
  pump: Effect.Effect<void, E>,
  extra?: Record<string, unknown>
): Effect.Effect<void> =>
  Effect.flatMap(superviseExit(connection, pump, extra), ({ exit }) =>
    Exit.isFailure(exit) && endOf(exit)._tag === "Fail" ? Effect.logError("echo failed", exit.cause) : Effect.void
  ).pipe(Effect.catchAllCause((cause) => Effect.logError("echo failed", cause)))

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
 * Hands each echo of a stream to the connection's machine, a chunk at a time (`reply`: sent with its behaviours).
 * Pulling the stream by hand costs measurably less per message than `Stream.runForEachChunk` (no sink channel
 * between the pull and the send).
 */
const replyEach =
  (driver: Driver) =>
  <E>(replies: Stream.Stream<Message, E>): Effect.Effect<void, E> =>
    Effect.scoped(
      Effect.flatMap(Stream.toPull(replies), (pull) => {
        const loop: Effect.Effect<void, E> = Effect.matchEffect(pull, {
          onFailure: Option.match({ onNone: () => Effect.void, onSome: Effect.fail }),
          onSuccess: (chunk) =>
            Effect.zipRight(
              Effect.sync(() => {
                for (const message of chunk) driver.step({ _tag: "Reply", message })
              }),
              loop
            )
        })
        return loop
      })
    )

/**
 * The echo as a `Stream`: the connection's messages, mapped through the
 * prefix, consumed by the connection's own fiber, which wakes once per message
 * (or per chunk) and hands each echo to the connection's machine. Pick it to
 * compose the messages with other streams and Effect operators. Every message
 * goes back in order; the peer's close is answered (or the limit or idle
 * timeout that ended the connection); one log line tells how it went. A
 * `scenario` adds the behaviours a client asked for (`parseScenario`): the
 * machine (`ConnectionMachine`) applies them to the echoes, as it does in the
 * handler and the Durable Object; `request` is what `info=true` reports.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { WebSocketService } from "websocket-echo/Connection"
 * import { streamEcho } from "websocket-echo/EchoServer"
 * import { ExecutionContext } from "websocket-echo/Workers"
 *
 * // The 101 goes back at once; the echo runs on in a fiber of its own, and the request lives until it ends.
 * export const echo = Effect.gen(function* () {
 *   const service = yield* WebSocketService
 *   const ctx = yield* ExecutionContext
 *   const connection = yield* service.upgrade({ maxMessageBytes: 65_536, idleTimeoutMs: 600_000 })
 *   const fiber = yield* Effect.forkDaemon(streamEcho(connection, "echo: "))
 *   ctx.waitUntil(new Promise((resolve) => fiber.addObserver(resolve)))
 *   return connection.response
 * })
 * ```
 *
 * @since 2.0.0
 */
export const streamEcho = (
  connection: Connection,
  prefix: string,
  scenario: Scenario = noScenario,
  request?: RequestInfo
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const driver = driverOf(connection)
    const messages = messagesOf(driver, { prefix: null, scenario, opening: opening(connection, scenario, request) })
    return supervise(connection, replyEach(driver)(Stream.map(messages, prefixMessage(prefix))), logged(scenario))
  })

/**
 * The echo as a handler: the connection's machine steps each message inside
 * its event, prefixes it and sends the echo there, so no fiber wakes per
 * message, and no fiber waits for the socket to close. Pick it when the cost
 * per message matters, which on Workers is billed CPU. Otherwise the same as
 * `streamEcho`; its `scenario`'s timed behaviours wake the machine from one
 * platform timer. This is `startHandlerEcho` as an Effect, which completes
 * when the connection has ended.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Queue from "effect/Queue"
 * import { type TestPeer, WebSocketService } from "websocket-echo/Connection"
 * import { handlerEcho } from "websocket-echo/EchoServer"
 *
 * // The echo against an in-memory client, with no Workers runtime: "hello" comes back as "echo: hello".
 * export const roundTrip = Effect.gen(function* () {
 *   const peers = yield* Queue.unbounded<TestPeer>()
 *   const connection = yield* Effect.flatMap(WebSocketService, (service) =>
 *     service.upgrade({ maxMessageBytes: 1024 })
 *   ).pipe(Effect.provide(WebSocketService.layerTest(peers)))
 *   yield* Effect.fork(handlerEcho(connection, "echo: "))
 *   const peer = yield* Queue.take(peers)
 *   yield* peer.send("hello")
 *   return yield* peer.receive // { _tag: "Message", message: "echo: hello" }
 * })
 * ```
 *
 * @since 2.0.0
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
 * The handler echo without a fiber, as the Worker runs it: the connection's machine is stepped in each of the
 * socket's events and its one timer; Effect runs only for the log line (on `runtime`). Returns the promise that
 * the connection has ended and was logged, and a function that stops it as an interruption would (1001).
 */
export const startHandlerEcho = (
  runtime: Runtime.Runtime<never>,
  connection: Connection,
  prefix: string,
  scenario: Scenario = noScenario,
  request?: RequestInfo
): { readonly ended: Promise<void>; readonly stop: () => void } => {
  const driver = driverOf(connection)
  let resolve: () => void = () => undefined
  const ended = new Promise<void>((done) => {
    resolve = done
  })
  driver.serve({
    prefix,
    scenario,
    opening: opening(connection, scenario, request),
    ended(end) {
      Runtime.runSync(runtime, logEnded(end, connection.id, connection.protocol, logged(scenario)))
      resolve()
    }
  })
  return { ended, stop: () => driver.end({ _tag: "Stop" }) }
}

/** The messages that open a scenario's connection: its info, then its greeting (sent, in order, by the machine). */
const opening = (connection: Connection, scenario: Scenario, request: RequestInfo | undefined): Opening => ({
  info:
    scenario.info && request !== undefined ? connectionInfo(request, connection.protocol, connection.id) : undefined,
  greeting: scenario.greeting
})

/** The log fields of a scenario: the names of the behaviours it used, never their text. */
const logged = (scenario: Scenario): Record<string, unknown> | undefined =>
  isPlainEcho(scenario) ? undefined : { behaviours: scenario.behaviours }

/** The echo program of each pipeline. */
export const echoPrograms: Record<
  Pipeline,
  (connection: Connection, prefix: string, scenario?: Scenario, request?: RequestInfo) => Effect.Effect<void>
> = {
  stream: streamEcho,
  handler: handlerEcho
}
