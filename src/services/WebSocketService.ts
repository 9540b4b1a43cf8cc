import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import type * as Stream from "effect/Stream"
import { ABNORMAL_CLOSURE, type CloseFrame } from "../domain/CloseFrame.js"
import type { ConnectionEnd } from "../domain/ConnectionMachine.js"
import type { IdleTimeoutExpired } from "../domain/IdleTimeout.js"
import type { Message } from "../domain/Message.js"
import type { MessageTooLarge } from "../domain/MessageTooLarge.js"
import type { RateLimitExceeded } from "../domain/RateLimit.js"
import { type ConnectionStats, statsOf } from "../domain/Traffic.js"
import { DRIVER, Driver, fromWebSocket, messagesOf, type Transport, type TransportEvents } from "./ConnectionDriver.js"

export type { ConnectionStats } from "../domain/Traffic.js"

/**
 * A message over the size or the rate limit.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import type { Connection, LimitExceeded } from "websocket-echo/Connection"
 *
 * // Over the size or the rate limit: the socket is closed with 1009 or 1008 already.
 * const overLimit = (error: LimitExceeded) => Effect.logWarning(error.message)
 *
 * export const serve = (connection: Connection) =>
 *   connection.run((message) => message).pipe(
 *     Effect.catchTags({ MessageTooLarge: overLimit, RateLimitExceeded: overLimit })
 *   )
 * ```
 *
 * @since 2.0.0
 */
export type LimitExceeded = MessageTooLarge | RateLimitExceeded

/**
 * Why a connection's messages stopped before the peer closed: a limit, or the idle timeout.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 * import type { Connection, ConnectionEnded } from "websocket-echo/Connection"
 *
 * // A limit or the idle timeout ended the socket, and its close frame is sent: log which.
 * const ended = (error: ConnectionEnded) => Effect.logInfo(`socket ended: ${error._tag}`)
 *
 * export const serve = (connection: Connection) =>
 *   Stream.runForEach(connection.messages, (message) => connection.send(message)).pipe(Effect.catchAll(ended))
 * ```
 *
 * @since 2.0.0
 */
export type ConnectionEnded = LimitExceeded | IdleTimeoutExpired

/**
 * Whether a failure is a `ConnectionEnded`: a limit, or the idle timeout.
 *
 * @example
 * ```ts
 * import * as Data from "effect/Data"
 * import * as Effect from "effect/Effect"
 * import { type Connection, isConnectionEnded, type Message } from "websocket-echo/Connection"
 *
 * class StoreFailed extends Data.TaggedError("StoreFailed") {}
 * declare const store: (message: Message) => Effect.Effect<undefined, StoreFailed>
 *
 * // A limit or the idle timeout is how a socket may end; a failed store stays the app's error.
 * export const serve = (connection: Connection) =>
 *   connection.run(store).pipe(Effect.catchIf(isConnectionEnded, () => Effect.void))
 * ```
 *
 * @since 2.0.0
 */
export const isConnectionEnded = (error: unknown): error is ConnectionEnded => {
  const tag = (error as Partial<ConnectionEnded> | undefined)?._tag
  return tag === "MessageTooLarge" || tag === "RateLimitExceeded" || tag === "IdleTimeoutExpired"
}

/**
 * What a message handler returns: nothing (it is done), a message to send back,
 * or an `Effect` whose result, if any, is sent back when it completes.
 *
 * @example
 * ```ts
 * import type * as Effect from "effect/Effect"
 * import type { Connection, Message, Reply } from "websocket-echo/Connection"
 *
 * declare const translate: (text: string) => Effect.Effect<string>
 *
 * // Text is translated, and sent when the translation completes; binary goes back as it came.
 * const answer = (message: Message): Reply => (typeof message === "string" ? translate(message) : message)
 *
 * export const serve = (connection: Connection) => connection.run(answer)
 * ```
 *
 * @since 2.0.0
 */
export type Reply<E = never, R = never> = Message | undefined | Effect.Effect<Message | undefined, E, R>

/**
 * Called once per message from the peer, synchronously, inside the socket's own event.
 *
 * @example
 * ```ts
 * import type { Connection, MessageHandler } from "websocket-echo/Connection"
 *
 * // Answered in the socket's own event: no fiber wakes for a message.
 * const pong: MessageHandler = (message) => (message === "ping" ? "pong" : undefined)
 *
 * export const serve = (connection: Connection) => connection.run(pong)
 * ```
 *
 * @since 2.0.0
 */
export type MessageHandler<E = never, R = never> = (message: Message) => Reply<E, R>

/**
 * One accepted WebSocket, seen from the server.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import type { Connection } from "websocket-echo/Connection"
 *
 * // A chat member: greeted, then answered message by message until the peer closes.
 * export const member = (connection: Connection) =>
 *   Effect.zipRight(
 *     connection.send(`welcome, ${connection.id}`),
 *     connection.run((message) => (typeof message === "string" ? `you said: ${message}` : undefined))
 *   )
 * ```
 *
 * @since 2.0.0
 */
export interface Connection {
  /** A random id, for logs. */
  readonly id: string
  /** The subprotocol agreed in the handshake, if the client offered any. */
  readonly protocol: string | undefined
  /**
   * The response that completes the handshake: 101 with the client end (and the subprotocol). It is handed
   * over once: a second read throws, so that an open socket does not keep its client end and headers alive.
   */
  readonly response: Response
  /**
   * The peer's messages in order, once they passed the size and rate checks. Ends when the peer closes; fails
   * with `MessageTooLarge` at the first message over the size limit, or with `RateLimitExceeded` at the first
   * message over the rate, or with `IdleTimeoutExpired` once nothing went either way for the idle timeout.
   * Use `messages` or `run`, once.
   */
  readonly messages: Stream.Stream<Message, ConnectionEnded>
  /**
   * Calls `handler` for each of the peer's messages, synchronously inside the
   * socket's event, after the size and rate checks: no fiber wakes per message.
   * A reply that is a message is sent at once; one that is an `Effect` runs in a
   * fiber of its own and its result is sent when it completes (replies of
   * different effects are sent in the order they complete). Completes when the
   * peer closes, once every running reply has been sent (the peer's close is
   * then answered); fails like `messages`, or with the first failure of a reply's
   * effect. Use `messages` or `run`, once. Frames that arrive before either is
   * called are kept, in order, for it.
   */
  readonly run: <E = never, R = never>(handler: MessageHandler<E, R>) => Effect.Effect<void, E | ConnectionEnded, R>
  /** The `Clock` time (ms) of the upgrade. */
  readonly openedAt: number
  /** The peer's close frame; 1006 when the connection dropped without one, or ended before the peer closed. */
  readonly closed: Effect.Effect<CloseFrame>
  /**
   * How the connection ended, with its log line's fields (`logFields`): completes once it has ended, by the
   * closing handshake, a limit, the idle timeout, a drop, or `close`.
   */
  readonly ended: Effect.Effect<ConnectionEnd>
  /** Sends a message; dropped once the socket can no longer send (closed, or a close frame sent). */
  readonly send: (message: Message) => Effect.Effect<void>
  /** Sends messages in order, in one step; dropped once the socket can no longer send. */
  readonly sendAll: (messages: Iterable<Message>) => Effect.Effect<void>
  /**
   * Starts the closing handshake: sends a close frame and goes on listening, for the peer's answer (which ends the
   * connection), up to the close timeout (`CLOSE_TIMEOUT_MS`, or the idle timeout when shorter). The first close
   * frame of a connection is the one sent, later ones are ignored; once the peer has closed, it does nothing,
   * since its close is answered by the close rules.
   */
  readonly sendClose: (frame: CloseFrame) => Effect.Effect<void>
  /**
   * Ends the connection now: a close owed to the peer is answered by the close rules (a mirror, 1009…), any other
   * is `frame`, unless a close frame was sent already. Returns the close frame this connection sent, if any.
   */
  readonly close: (frame: CloseFrame) => Effect.Effect<CloseFrame | undefined>
  readonly stats: Effect.Effect<ConnectionStats>
  /** The `Clock` time (ms) of the last message either way, or of the upgrade if none. */
  readonly lastActivity: Effect.Effect<number>
  /** The idle timeout the connection was opened with, in ms; 0 for none. */
  readonly idleTimeoutMs: number
}

/**
 * The options of one upgrade.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { type UpgradeOptions, WebSocketService } from "websocket-echo/Connection"
 *
 * // 64 KiB messages, 50 a second, closed after five silent minutes, with the subprotocol agreed with the client.
 * const options: UpgradeOptions = {
 *   maxMessageBytes: 65_536,
 *   maxMessagesPerSecond: 50,
 *   idleTimeoutMs: 300_000,
 *   protocol: "chat.v1"
 * }
 *
 * export const open = Effect.flatMap(WebSocketService, (service) => service.upgrade(options))
 * ```
 *
 * @since 2.0.0
 */
export interface UpgradeOptions {
  /** The largest message accepted, in bytes (UTF-8 bytes for text). */
  readonly maxMessageBytes: number
  /** The most messages accepted per second, burst included; 0 or absent for no limit. */
  readonly maxMessagesPerSecond?: number
  /** The subprotocol chosen for the client, sent back in the 101. */
  readonly protocol?: string | undefined
  /** Milliseconds without a message either way before the messages end with `IdleTimeoutExpired`; 0 or absent for none. */
  readonly idleTimeoutMs?: number
}

/**
 * A connection over a transport: its machine's driver (`ConnectionDriver`), with the methods of `Connection`.
 * Built synchronously, with no fiber and no span: its cost is paid on every upgrade.
 */
const makeConnection = (transport: Transport, response: Response, options: UpgradeOptions): Effect.Effect<Connection> =>
  Effect.clockWith((clock) => Effect.sync(() => new WorkerConnection(transport, response, clock, options)))

/** A class, so that an open socket holds its fields and no closures of its own (its methods are shared). */
class WorkerConnection implements Connection {
  readonly id = crypto.randomUUID()
  readonly protocol: string | undefined
  readonly openedAt: number
  readonly idleTimeoutMs: number
  readonly [DRIVER]: Driver
  /**
   * Handed over once: the 101 carries the client end, and a socket that kept it would hold both ends and the
   * response's headers for its whole life (≈ 2 KB per open socket, measured with `npm run bench -- --heap`).
   */
  private handshake: Response | undefined

  constructor(
    transport: Transport,
    response: Response,
    clock: Clock.Clock,
    { maxMessageBytes, maxMessagesPerSecond = 0, protocol, idleTimeoutMs = 0 }: UpgradeOptions
  ) {
    this.protocol = protocol
    this.idleTimeoutMs = idleTimeoutMs
    this.handshake = response
    this[DRIVER] = new Driver(transport, clock, { limits: { maxMessageBytes, maxMessagesPerSecond }, idleTimeoutMs })
    this.openedAt = this[DRIVER].openedAt
  }

  get response(): Response {
    const handed = this.handshake
    if (handed === undefined) throw new Error("a connection's 101 is handed over once: read response once")
    this.handshake = undefined
    return handed
  }

  // Built when asked for: the handler pipeline never pays for a Stream.
  get messages(): Stream.Stream<Message, ConnectionEnded> {
    return messagesOf(this[DRIVER])
  }

  run<E = never, R = never>(handler: MessageHandler<E, R>): Effect.Effect<void, E | ConnectionEnded, R> {
    const driver = this[DRIVER]
    return Effect.flatMap(Effect.runtime<R>(), (runtime) =>
      Effect.async<void, E | ConnectionEnded>((resume) => {
        const stop = runHandler(driver, runtime, handler, resume)
        return Effect.sync(stop)
      })
    )
  }

  get closed(): Effect.Effect<CloseFrame> {
    return Deferred.await(this[DRIVER].closed)
  }

  get ended(): Effect.Effect<ConnectionEnd> {
    return Deferred.await(this[DRIVER].ended)
  }

  send(message: Message): Effect.Effect<void> {
    return Effect.sync(() => this[DRIVER].step({ _tag: "Send", message }))
  }

  sendAll(messages: Iterable<Message>): Effect.Effect<void> {
    return Effect.sync(() => {
      for (const message of messages) this[DRIVER].step({ _tag: "Send", message })
    })
  }

  sendClose(frame: CloseFrame): Effect.Effect<void> {
    return Effect.sync(() => this[DRIVER].step({ _tag: "RequestClose", frame }))
  }

  close(frame: CloseFrame): Effect.Effect<CloseFrame | undefined> {
    return Effect.sync(() => {
      const driver = this[DRIVER]
      driver.end({ _tag: "Drained" })
      driver.end({ _tag: "Stop", frame })
      return driver.closeSent()
    })
  }

  get stats(): Effect.Effect<ConnectionStats> {
    return Effect.sync(() => {
      const machine = this[DRIVER].machine()
      return machine === undefined ? noStats : statsOf(machine.state.traffic)
    })
  }

  get lastActivity(): Effect.Effect<number> {
    return Effect.sync(() => this[DRIVER].machine()?.state.traffic.lastActivity ?? this.openedAt)
  }
}

const noStats: ConnectionStats = { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 }

/**
 * `run` without a fiber: serves the connection to `handler` and calls `onEnd` once with how it ended (an
 * interruption when the returned function stops it). Replies that are an `Effect` run on `runtime`. When the
 * peer has closed (or a limit refused a message) and every running reply is done, the machine is told the
 * application has drained, and the owed close goes out.
 */
const runHandler = <E, R>(
  driver: Driver,
  runtime: Runtime.Runtime<R>,
  handler: MessageHandler<E, R>,
  onEnd: (exit: Exit.Exit<void, E | ConnectionEnded>) => void
): (() => void) => {
  // Created with the first reply that suspends: a handler that answers in its event never needs it.
  let running: Set<Fiber.RuntimeFiber<Message | undefined, E>> | undefined
  let done: Exit.Exit<void, ConnectionEnded> | undefined
  let finished = false
  const sendOne = (message: Message) => driver.step({ _tag: "Send", message })
  const finish = (exit: Exit.Exit<void, E | ConnectionEnded>) => {
    if (finished) return
    finished = true
    if (running !== undefined) for (const fiber of running) fiber.unsafeInterruptAsFork(FiberId.none)
    if (Exit.isSuccess(exit) || Option.exists(Cause.failureOption(exit.cause), isConnectionEnded)) {
      driver.end({ _tag: "Drained" })
    } else driver.end(Exit.isInterrupted(exit) ? { _tag: "Stop" } : { _tag: "Fail" })
    onEnd(exit)
  }
  const settle = (
    fiber: Fiber.RuntimeFiber<Message | undefined, E> | undefined,
    exit: Exit.Exit<Message | undefined, E>
  ) => {
    if (fiber !== undefined) running?.delete(fiber)
    if (Exit.isFailure(exit)) return finish(exit)
    if (exit.value !== undefined) sendOne(exit.value)
    if (done !== undefined && (running === undefined || running.size === 0)) finish(done)
  }
  driver.serve({
    prefix: null,
    received(data) {
      const reply = handler(data)
      if (reply === undefined) return
      if (!Effect.isEffect(reply)) return sendOne(reply)
      // Run here, inside the event: a reply that completes synchronously costs no scheduled fiber
      // (measured: see bench/README.md); one that does not goes on as a fiber of its own.
      const exit = Runtime.runSyncExit(runtime, reply)
      const fiber = asyncFiberOf(exit)
      if (fiber === undefined) return settle(undefined, exit)
      running ??= new Set()
      running.add(fiber)
      fiber.addObserver((exit) => settle(fiber, exit))
    },
    stopped(reason) {
      done = reason === undefined ? Exit.void : Exit.fail(reason)
      if (reason !== undefined || running === undefined || running.size === 0) finish(done)
    }
  })
  return () => finish(Exit.interrupt(FiberId.none))
}

/** The fiber that goes on running an effect that `Runtime.runSyncExit` could not complete synchronously. */
export const asyncFiberOf = <A, E>(exit: Exit.Exit<A, E>): Fiber.RuntimeFiber<A, E> | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const defect = Cause.dieOption(exit.cause)
  return Option.isSome(defect) && Runtime.isAsyncFiberException(defect.value)
    ? (defect.value.fiber as Fiber.RuntimeFiber<A, E>)
    : undefined
}

/**
 * What the server sent, as its peer sees it.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import type { Sent, TestPeer } from "websocket-echo/Connection"
 *
 * // What a test's in-memory client reads next: a message, or the server's close frame.
 * export const next = (peer: TestPeer) =>
 *   Effect.map(peer.receive, (sent: Sent) =>
 *     sent._tag === "Message" ? sent.message : `closed with ${sent.frame.code} ${sent.frame.reason}`
 *   )
 * ```
 *
 * @since 2.0.0
 */
export type Sent =
  | { readonly _tag: "Message"; readonly message: Message }
  | { readonly _tag: "Close"; readonly frame: CloseFrame }

/**
 * The client end of an in-memory connection, for tests of programs that use `WebSocketService`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Queue from "effect/Queue"
 * import { type TestPeer, WebSocketService } from "websocket-echo/Connection"
 *
 * // A peer that closes with 4000 gets its close mirrored, as RFC 6455 says.
 * export const closes = Effect.gen(function* () {
 *   const peers = yield* Queue.unbounded<TestPeer>()
 *   const connection = yield* Effect.flatMap(WebSocketService, (service) =>
 *     service.upgrade({ maxMessageBytes: 1024 })
 *   ).pipe(Effect.provide(WebSocketService.layerTest(peers)))
 *   yield* Effect.fork(connection.run((message) => message))
 *   const peer = yield* Queue.take(peers)
 *   yield* peer.close({ code: 4000, reason: "done" })
 *   return yield* peer.receive // { _tag: "Close", frame: { code: 4000, reason: "done" } }
 * })
 * ```
 *
 * @since 2.0.0
 */
export interface TestPeer {
  /** Delivers a message to the server. */
  readonly send: (message: Message) => Effect.Effect<void>
  /** Delivers a close frame to the server (1006: the connection dropped without one). */
  readonly close: (frame: CloseFrame) => Effect.Effect<void>
  /** The transport fails under the server (an `error` event). */
  readonly drop: Effect.Effect<void>
  /** The next message or close frame the server sent. */
  readonly receive: Effect.Effect<Sent>
  /** Whether the server still listens to this socket's events. */
  readonly listening: Effect.Effect<boolean>
}

const makeTestTransport = Effect.gen(function* () {
  const sent = yield* Queue.unbounded<Sent>()
  // Timers are fibers of the caller's runtime, so a test moves them with the `TestClock`.
  const runFork = Runtime.runFork(yield* Effect.runtime<never>())
  let deliver: TransportEvents | undefined
  const transport: Transport = {
    send(message) {
      sent.unsafeOffer({ _tag: "Message", message })
    },
    close(frame) {
      sent.unsafeOffer({ _tag: "Close", frame })
    },
    release() {},
    schedule(ms, task) {
      const timer = runFork(Effect.zipRight(Effect.sleep(ms), Effect.sync(task)))
      return () => timer.unsafeInterruptAsFork(FiberId.none)
    },
    listen(on) {
      deliver = on
      return () => {
        deliver = undefined
      }
    }
  }
  const peer: TestPeer = {
    send: (message) => Effect.sync(() => deliver?.message(message)),
    close: (frame) => Effect.sync(() => deliver?.close(frame, frame.code !== ABNORMAL_CLOSURE)),
    drop: Effect.sync(() => deliver?.error()),
    receive: Queue.take(sent),
    listening: Effect.sync(() => deliver !== undefined)
  }
  return { transport, peer }
})

const protocolHeader = (protocol: string | undefined): HeadersInit | undefined =>
  protocol === undefined ? undefined : { "sec-websocket-protocol": protocol }

/**
 * A `WebSocketPair`: its server end, which delivers binary frames as `ArrayBuffer` whatever the compatibility
 * date (`Blob` from 2026-03-17 otherwise), and the 101 that hands over its client end with the agreed
 * subprotocol. The Worker's connections and the rooms' hibernatable sockets both start here.
 */
export const socketPair = (
  protocol: string | undefined
): { readonly server: WebSocket; readonly response: Response } => {
  const pair = new WebSocketPair()
  const server = pair[1]
  server.binaryType = "arraybuffer"
  const response = new Response(null, {
    status: 101,
    webSocket: pair[0],
    headers: protocolHeader(protocol)
  } as ResponseInit)
  return { server, response }
}

/**
 * The 101 of the in-memory service. Runtimes other than workerd refuse to
 * construct a `Response` with status 101, so there it is a 204 that says 101.
 */
const switchingProtocols = (protocol: string | undefined): Response => {
  const init = { status: 101, headers: protocolHeader(protocol) } as ResponseInit
  try {
    return new Response(null, init)
  } catch {
    return Object.defineProperty(new Response(null, { ...init, status: 204 }), "status", { value: 101 })
  }
}

/** The real service, on the Workers runtime: what `WebSocketService.layer` provides, for a context built by hand. */
export const workersWebSockets: Context.Tag.Service<WebSocketService> = {
  upgrade: (options: UpgradeOptions) =>
    Effect.suspend(() => {
      const { server, response } = socketPair(options.protocol)
      server.accept()
      return makeConnection(fromWebSocket(server), response, options)
    })
}

/**
 * Accepts WebSocket upgrades.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as ManagedRuntime from "effect/ManagedRuntime"
 * import * as Queue from "effect/Queue"
 * import { type TestPeer, WebSocketService } from "websocket-echo/Connection"
 *
 * // A Worker's runtime: sockets over the runtime's WebSocketPair (toFetchHandler provides this itself).
 * export const runtime = ManagedRuntime.make(WebSocketService.layer)
 *
 * // A test: in-memory sockets, each upgrade's client end handed over in `peers`.
 * export const echoesInMemory = Effect.gen(function* () {
 *   const peers = yield* Queue.unbounded<TestPeer>()
 *   const service = yield* Effect.provide(WebSocketService, WebSocketService.layerTest(peers))
 *   const connection = yield* service.upgrade({ maxMessageBytes: 1024 })
 *   yield* Effect.fork(connection.run((message) => message))
 *   const peer = yield* Queue.take(peers)
 *   yield* peer.send("hi")
 *   return yield* peer.receive // { _tag: "Message", message: "hi" }
 * })
 * ```
 *
 * @since 2.0.0
 */
export class WebSocketService extends Context.Tag("websocket-echo/WebSocketService")<
  WebSocketService,
  {
    /** Creates a `WebSocketPair`, accepts its server end and returns the connection. */
    readonly upgrade: (options: UpgradeOptions) => Effect.Effect<Connection>
  }
>() {
  /** The real service, on the Workers runtime. */
  static readonly layer: Layer.Layer<WebSocketService> = Layer.succeed(WebSocketService, workersWebSockets)

  /** An in-memory service: each upgrade hands its client end to `peers`. Runs anywhere. */
  static readonly layerTest = (peers: Queue.Enqueue<TestPeer>): Layer.Layer<WebSocketService> =>
    Layer.succeed(WebSocketService, {
      upgrade: Effect.fn("WebSocketService.upgrade")(function* (options: UpgradeOptions) {
        const { transport, peer } = yield* makeTestTransport
        const connection = yield* makeConnection(transport, switchingProtocols(options.protocol), options)
        yield* Queue.offer(peers, peer)
        return connection
      })
    })
}
