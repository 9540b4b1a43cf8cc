import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import { ABNORMAL_CLOSURE, type CloseFrame } from "../domain/CloseFrame.js"
import { IdleTimeoutExpired, idleRemainingMs } from "../domain/IdleTimeout.js"
import type { Message } from "../domain/Message.js"
import type { MessageTooLarge } from "../domain/MessageTooLarge.js"
import type { RateLimitExceeded } from "../domain/RateLimit.js"
import { admit, type ConnectionStats, countSent, makeTraffic, statsOf } from "../domain/Traffic.js"

export type { ConnectionStats } from "../domain/Traffic.js"

/** A message over the size or the rate limit. */
export type LimitExceeded = MessageTooLarge | RateLimitExceeded

/** Why a connection's messages stopped before the peer closed: a limit, or the idle timeout. */
export type ConnectionEnded = LimitExceeded | IdleTimeoutExpired

/** Whether a failure is a `ConnectionEnded`: a limit, or the idle timeout. */
export const isConnectionEnded = (error: unknown): error is ConnectionEnded => {
  const tag = (error as Partial<ConnectionEnded> | undefined)?._tag
  return tag === "MessageTooLarge" || tag === "RateLimitExceeded" || tag === "IdleTimeoutExpired"
}

/**
 * What a message handler returns: nothing (it is done), a message to send back,
 * or an `Effect` whose result, if any, is sent back when it completes.
 */
export type Reply<E = never, R = never> = Message | undefined | Effect.Effect<Message | undefined, E, R>

/** Called once per message from the peer, synchronously, inside the socket's own event. */
export type MessageHandler<E = never, R = never> = (message: Message) => Reply<E, R>

/** One accepted WebSocket, seen from the server. */
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
   * The peer's messages in order. Ends when the peer closes; fails with
   * `MessageTooLarge` at the first message over the size limit, or with
   * `RateLimitExceeded` at the first message over the rate, or with
   * `IdleTimeoutExpired` once nothing went either way for the idle timeout.
   * Use `messages` or `run`, once.
   */
  readonly messages: Stream.Stream<Message, ConnectionEnded>
  /**
   * Calls `handler` for each of the peer's messages, synchronously inside the
   * socket's event, after the size and rate checks: no fiber wakes per message.
   * A reply that is a message is sent at once; one that is an `Effect` runs in a
   * fiber of its own and its result is sent when it completes (replies of
   * different effects are sent in the order they complete). Completes when the
   * peer closes, once every running reply has been sent; fails like `messages`,
   * or with the first failure of a reply's effect. Use `messages` or `run`, once.
   * Frames that arrive before either is called are kept, in order, for it.
   */
  readonly run: <E = never, R = never>(handler: MessageHandler<E, R>) => Effect.Effect<void, E | ConnectionEnded, R>
  /**
   * `run` without a fiber: calls `handler` in the same way, and `onEnd` once with how it ended (an interruption
   * when the returned function stops it). Replies that are an `Effect` run on `runtime`.
   */
  readonly unsafeRun: <E = never, R = never>(
    runtime: Runtime.Runtime<R>,
    handler: MessageHandler<E, R>,
    onEnd: (exit: Exit.Exit<void, E | ConnectionEnded>) => void
  ) => () => void
  /** The `Clock` time (ms) of the upgrade. */
  readonly openedAt: number
  /** The peer's close frame; 1006 when the connection dropped without one. */
  readonly closed: Effect.Effect<CloseFrame>
  /** Sends a message; dropped once the socket can no longer send (closed, or a close frame sent). */
  readonly send: (message: Message) => Effect.Effect<void>
  /** Sends messages in order, in one step (one effect for a whole chunk); dropped once the socket can no longer send. */
  readonly sendAll: (messages: Iterable<Message>) => Effect.Effect<void>
  /**
   * Starts the closing handshake: sends a close frame and goes on listening, for the peer's answer. The first
   * close frame of a connection is the one sent, later ones are ignored (as they are by `close`); once the peer
   * has closed, it does nothing, since its close is answered by `close`.
   */
  readonly sendClose: (frame: CloseFrame) => Effect.Effect<void>
  /**
   * Sends a close frame, unless the socket is closed or one was sent already, and stops listening to the
   * socket. Returns the close frame this connection sent: `frame`, or the one sent before it.
   */
  readonly close: (frame: CloseFrame) => Effect.Effect<CloseFrame>
  readonly stats: Effect.Effect<ConnectionStats>
  /** The `Clock` time (ms) of the last message either way, or of the upgrade if none. */
  readonly lastActivity: Effect.Effect<number>
  /** The idle timeout the connection was opened with, in ms; 0 for none. */
  readonly idleTimeoutMs: number
  /** `send`, run at once: for a handler or a timer, which runs inside the socket's own event. */
  readonly unsafeSend: (message: Message) => void
  /** `sendClose`, run at once. */
  readonly unsafeSendClose: (frame: CloseFrame) => void
  /**
   * Runs `task` after `ms`, on the platform's timer (the `Clock`'s, in the in-memory service), inside the
   * socket's own request; returns the function that cancels it. Timers still pending when the connection is
   * closed are cancelled.
   */
  readonly unsafeSchedule: (ms: number, task: () => void) => () => void
}

/** The options of one upgrade. */
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

/** The raw socket under a connection: the server end of a `WebSocketPair`, or an in-memory one. */
interface Transport {
  readonly send: (message: Message) => void
  /** Sends a close frame: at once, or on a later turn of the event loop (the Workers runtime's, see there). */
  readonly close: (frame: CloseFrame) => void
  readonly isClosed: () => boolean
  /** Starts delivering events; returns the function that stops it. */
  readonly listen: (on: { message: (data: Message) => void; close: (frame: CloseFrame) => void }) => () => void
  /** Runs `task` after `ms` (the `Clock`'s milliseconds); returns the function that cancels it. */
  readonly schedule: (ms: number, task: () => void) => () => void
}

/** Where the messages of a connection go once something consumes them. */
interface Consumer {
  readonly message: (data: Message) => void
  readonly end: (exit: Exit.Exit<void, ConnectionEnded>) => void
}

/**
 * A connection over a transport. Built synchronously, with no fiber and no span: its cost is paid on every
 * upgrade (measured: `Effect.fn`'s call-site capture and span were ≈ 4% of the upgrade profile, and a fiber
 * sleeping out the idle timeout ≈ 60 µs per upgrade, where one platform timer costs next to nothing).
 */
const makeConnection = (transport: Transport, response: Response, options: UpgradeOptions): Effect.Effect<Connection> =>
  Effect.clockWith((clock) => Effect.sync(() => connectionOf(transport, response, clock, options)))

const connectionOf = (
  transport: Transport,
  response: Response,
  clock: Clock.Clock,
  { maxMessageBytes, maxMessagesPerSecond = 0, protocol, idleTimeoutMs = 0 }: UpgradeOptions
): Connection => {
  const limits = { maxMessageBytes, maxMessagesPerSecond }
  const closed = Deferred.unsafeMake<CloseFrame>(FiberId.none)
  const openedAt = clock.unsafeCurrentTimeMillis()
  const traffic = makeTraffic(limits, openedAt)
  // Events that arrive before the echo attaches (none in practice: the fiber starts before the first frame).
  let early: Array<Message> | undefined
  let ended: Exit.Exit<void, ConnectionEnded> | undefined
  let consumer: Consumer | undefined
  let cancelIdle: (() => void) | undefined
  let closeSent: CloseFrame | undefined
  let peerClosed = false
  // Created on the first `unsafeSchedule`: the plain echo never pays for it.
  let timers: Set<() => void> | undefined
  const canSend = () => closeSent === undefined && !transport.isClosed()
  const sendClose = (frame: CloseFrame) => {
    if (closeSent !== undefined) return
    closeSent = frame
    if (!transport.isClosed()) transport.close(frame)
  }
  const schedule = (ms: number, task: () => void) => {
    timers ??= new Set()
    const pending = timers
    const cancel = transport.schedule(ms, () => {
      pending.delete(cancel)
      task()
    })
    pending.add(cancel)
    return () => {
      pending.delete(cancel)
      cancel()
    }
  }
  const end = (exit: Exit.Exit<void, ConnectionEnded>) => {
    if (ended !== undefined) return
    ended = exit
    consumer?.end(exit)
  }
  // One timer per socket, created in the socket's own request: it wakes once per timeout period, not per
  // message, and sleeps again for whatever remains after the last activity.
  const checkIdle = () => {
    const remaining = idleRemainingMs(traffic.lastActivity, clock.unsafeCurrentTimeMillis(), idleTimeoutMs)
    if (remaining <= 0) end(Exit.fail(new IdleTimeoutExpired()))
    else cancelIdle = transport.schedule(remaining, checkIdle)
  }
  if (idleTimeoutMs > 0) cancelIdle = transport.schedule(idleTimeoutMs, checkIdle)
  const unlisten = transport.listen({
    message(data) {
      if (ended !== undefined) return
      const exceeded = admit(traffic, limits, data, clock.unsafeCurrentTimeMillis())
      if (exceeded !== undefined) end(Exit.fail(exceeded))
      else if (consumer !== undefined) consumer.message(data)
      else {
        early ??= []
        early.push(data)
      }
    },
    close(frame) {
      peerClosed = true
      Deferred.unsafeDone(closed, Exit.succeed(frame))
      end(Exit.void)
    }
  })
  const attach = (next: Consumer) => {
    if (consumer !== undefined) throw new Error("a connection's messages are consumed once")
    consumer = next
    if (early !== undefined) for (const data of early.splice(0)) next.message(data)
    if (ended !== undefined) next.end(ended)
  }
  const sendAll = (messages: Iterable<Message>) => {
    // The peer may close while echoes are queued; what can no longer be sent has nobody to read it.
    if (!canSend()) return
    const now = clock.unsafeCurrentTimeMillis()
    for (const message of messages) {
      transport.send(message)
      countSent(traffic, message, now)
    }
  }
  const startClose = (frame: CloseFrame) => {
    if (!peerClosed) sendClose(frame)
  }
  const sendOne = (message: Message) => {
    if (!canSend()) return
    transport.send(message)
    countSent(traffic, message, clock.unsafeCurrentTimeMillis())
  }
  // Built when asked for: the handler pipeline never pays for a Stream.
  const messages = () =>
    Stream.unwrap(
      Effect.map(Mailbox.make<Message, ConnectionEnded>(), (mailbox) => {
        attach({ message: (data) => mailbox.unsafeOffer(data), end: (exit) => mailbox.unsafeDone(exit) })
        return Mailbox.toStream(mailbox)
      })
    )
  const unsafeRun = <E, R>(
    runtime: Runtime.Runtime<R>,
    handler: MessageHandler<E, R>,
    onEnd: (exit: Exit.Exit<void, E | ConnectionEnded>) => void
  ): (() => void) => {
    // Created with the first reply that suspends: a handler that answers in its event never needs it.
    let running: Set<Fiber.RuntimeFiber<Message | undefined, E>> | undefined
    let done: Exit.Exit<void, ConnectionEnded> | undefined
    let finished = false
    const finish = (exit: Exit.Exit<void, E | ConnectionEnded>) => {
      if (finished) return
      finished = true
      if (running !== undefined) for (const fiber of running) fiber.unsafeInterruptAsFork(FiberId.none)
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
    attach({
      message(data) {
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
      end(exit) {
        done = exit
        if (Exit.isFailure(exit) || running === undefined || running.size === 0) finish(exit)
      }
    })
    return () => finish(Exit.interrupt(FiberId.none))
  }
  const run = <E, R>(handler: MessageHandler<E, R>) =>
    Effect.flatMap(Effect.runtime<R>(), (runtime) =>
      Effect.async<void, E | ConnectionEnded>((resume) => {
        const stop = unsafeRun(runtime, handler, resume)
        return Effect.sync(stop)
      })
    )
  // Handed over once: the 101 carries the client end, and a socket that kept it would hold both ends and the
  // response's headers for its whole life (≈ 2 KB per open socket, measured with `npm run bench -- --heap`).
  let handshake: Response | undefined = response
  return {
    id: crypto.randomUUID(),
    protocol,
    get response() {
      if (handshake === undefined) throw new Error("a connection's 101 is handed over once: read response once")
      const handed = handshake
      handshake = undefined
      return handed
    },
    get messages() {
      return messages()
    },
    run,
    unsafeRun,
    openedAt,
    get closed() {
      return Deferred.await(closed)
    },
    send: (message) => Effect.sync(() => sendOne(message)),
    sendAll: (messages) => Effect.sync(() => sendAll(messages)),
    // The listeners and the idle timer stay until the close is sent: with neither, workerd may drop a socket
    // whose request has nothing left pending before the close frame goes out (seen as 1006 under load).
    sendClose: (frame) => Effect.sync(() => startClose(frame)),
    close: (frame) =>
      Effect.sync(() => {
        sendClose(frame)
        unlisten()
        cancelIdle?.()
        if (timers !== undefined) for (const cancel of timers) cancel()
        return closeSent ?? frame
      }),
    get stats() {
      return Effect.sync(() => statsOf(traffic))
    },
    get lastActivity() {
      return Effect.sync(() => traffic.lastActivity)
    },
    idleTimeoutMs,
    unsafeSend: sendOne,
    unsafeSendClose: startClose,
    unsafeSchedule: schedule
  }
}

/** The fiber that goes on running an effect that `Runtime.runSyncExit` could not complete synchronously. */
export const asyncFiberOf = <A, E>(exit: Exit.Exit<A, E>): Fiber.RuntimeFiber<A, E> | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const defect = Cause.dieOption(exit.cause)
  return Option.isSome(defect) && Runtime.isAsyncFiberException(defect.value)
    ? (defect.value.fiber as Fiber.RuntimeFiber<A, E>)
    : undefined
}

const WEBSOCKET_CLOSED = 3

const fromWebSocket = (socket: WebSocket): Transport => ({
  send: (message) => socket.send(message),
  // Handed to the runtime from a timer, never inside the event that decided it. workerd sends a socket's frames
  // with one pump at a time; once a pump has emptied its queue, a continuation runs some turns later and, if both
  // sides have closed by then, releases the socket and cancels any pump started since: only hibernatable sockets
  // check for one (`WebSocket::ensurePumping`, src/workerd/api/web-socket.c++, 1.20260310 and still in August
  // 2026). A close answered in the peer's close event, just after the pump of the last echo finished, was cancelled
  // so: the peer got no close frame and saw 1006 (4–10% of sockets with ten closing at once, a plain Worker alike).
  // A timer fires only after the event loop has run every queued event, so that continuation has run by then.
  close: ({ code, reason }) => {
    setTimeout(() => socket.close(code, reason), 0)
  },
  isClosed: () => socket.readyState === WEBSOCKET_CLOSED,
  schedule(ms, task) {
    const timer = setTimeout(task, ms)
    return () => clearTimeout(timer)
  },
  listen(on) {
    const onMessage = (event: MessageEvent) => on.message(event.data as Message)
    const onClose = (event: CloseEvent) => on.close({ code: event.code, reason: event.reason })
    const onError = () => on.close({ code: ABNORMAL_CLOSURE, reason: "" })
    socket.addEventListener("message", onMessage)
    socket.addEventListener("close", onClose)
    socket.addEventListener("error", onError)
    return () => {
      socket.removeEventListener("message", onMessage)
      socket.removeEventListener("close", onClose)
      socket.removeEventListener("error", onError)
    }
  }
})

/** What the server sent, as its peer sees it. */
export type Sent =
  | { readonly _tag: "Message"; readonly message: Message }
  | { readonly _tag: "Close"; readonly frame: CloseFrame }

/** The client end of an in-memory connection, for tests of programs that use `WebSocketService`. */
export interface TestPeer {
  /** Delivers a message to the server. */
  readonly send: (message: Message) => Effect.Effect<void>
  /** Delivers a close frame to the server. */
  readonly close: (frame: CloseFrame) => Effect.Effect<void>
  /** The next message or close frame the server sent. */
  readonly receive: Effect.Effect<Sent>
  /** Whether the server still listens to this socket's events. */
  readonly listening: Effect.Effect<boolean>
}

const makeTestTransport = Effect.gen(function* () {
  const sent = yield* Queue.unbounded<Sent>()
  // Timers are fibers of the caller's runtime, so a test moves them with the `TestClock`.
  const runFork = Runtime.runFork(yield* Effect.runtime<never>())
  let deliver: Parameters<Transport["listen"]>[0] | undefined
  let closed = false
  const transport: Transport = {
    send(message) {
      sent.unsafeOffer({ _tag: "Message", message })
    },
    close(frame) {
      closed = true
      sent.unsafeOffer({ _tag: "Close", frame })
    },
    isClosed: () => closed,
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
    close: (frame) => Effect.sync(() => deliver?.close(frame)),
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

/** Accepts WebSocket upgrades. */
export class WebSocketService extends Context.Tag("websocket-echo/WebSocketService")<
  WebSocketService,
  {
    /** Creates a `WebSocketPair`, accepts its server end and returns the connection. */
    readonly upgrade: (options: UpgradeOptions) => Effect.Effect<Connection>
  }
>() {
  /** The real service, on the Workers runtime. */
  static readonly layer: Layer.Layer<WebSocketService> = Layer.succeed(WebSocketService, {
    upgrade: (options: UpgradeOptions) =>
      Effect.suspend(() => {
        const { server, response } = socketPair(options.protocol)
        return Effect.tap(makeConnection(fromWebSocket(server), response, options), () => server.accept())
      })
  })

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
