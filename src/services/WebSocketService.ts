import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { ABNORMAL_CLOSURE, type CloseFrame } from "../domain/CloseFrame.js"
import { byteLength, type Message } from "../domain/Message.js"
import { MessageTooLarge } from "../domain/MessageTooLarge.js"
import { makeTokenBucket, RateLimitExceeded, takeToken } from "../domain/RateLimit.js"

/** What a connection has carried so far. */
export interface ConnectionStats {
  readonly messagesIn: number
  readonly bytesIn: number
  readonly messagesOut: number
  readonly bytesOut: number
}

/** One accepted WebSocket, seen from the server. */
export interface Connection {
  /** A random id, for logs. */
  readonly id: string
  /** The response that completes the handshake (101 with the client end). */
  readonly response: HttpServerResponse.HttpServerResponse
  /**
   * The peer's messages in order. Ends when the peer closes; fails with
   * `MessageTooLarge` at the first message over the limit, or with
   * `RateLimitExceeded` at the first message over the rate. Its listeners are
   * removed when it ends.
   */
  readonly messages: Stream.Stream<Message, MessageTooLarge | RateLimitExceeded>
  /** The peer's close frame; 1006 when the connection dropped without one. */
  readonly closed: Effect.Effect<CloseFrame>
  /** Sends a message; dropped once the socket can no longer send. */
  readonly send: (message: Message) => Effect.Effect<void>
  /** Sends messages in order, in one step (one effect for a whole chunk); dropped once the socket can no longer send. */
  readonly sendAll: (messages: Iterable<Message>) => Effect.Effect<void>
  /** Sends a close frame, unless the socket is already closed. */
  readonly close: (frame: CloseFrame) => Effect.Effect<void>
  readonly stats: Effect.Effect<ConnectionStats>
  /** The `Clock` time (ms) of the last message either way, or of the upgrade if none. */
  readonly lastActivity: Effect.Effect<number>
}

/** The options of one upgrade. */
export interface UpgradeOptions {
  /** The largest message accepted, in bytes (UTF-8 bytes for text). */
  readonly maxMessageBytes: number
  /** The most messages accepted per second, burst included; 0 or absent for no limit. */
  readonly maxMessagesPerSecond?: number
}

/** The raw socket under a connection: the server end of a `WebSocketPair`, or an in-memory one. */
interface Transport {
  readonly send: (message: Message) => void
  readonly close: (frame: CloseFrame) => void
  readonly isClosed: () => boolean
  /** Starts delivering events; returns the function that stops it. */
  readonly listen: (on: { message: (data: Message) => void; close: (frame: CloseFrame) => void }) => () => void
}

const makeConnection = (
  transport: Transport,
  response: HttpServerResponse.HttpServerResponse,
  { maxMessageBytes, maxMessagesPerSecond = 0 }: UpgradeOptions
): Effect.Effect<Connection> =>
  Effect.gen(function* () {
    const mailbox = yield* Mailbox.make<Message, MessageTooLarge | RateLimitExceeded>()
    const closed = yield* Deferred.make<CloseFrame>()
    const stats = { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 }
    // Read synchronously per message: a timestamp and a little arithmetic, no Effect and no timer.
    const clock = yield* Effect.clock
    let lastActivity = clock.unsafeCurrentTimeMillis()
    const bucket = maxMessagesPerSecond > 0 ? makeTokenBucket(maxMessagesPerSecond, lastActivity) : undefined
    const unlisten = transport.listen({
      message(data) {
        lastActivity = clock.unsafeCurrentTimeMillis()
        const size = byteLength(data)
        if (size > maxMessageBytes) {
          mailbox.unsafeDone(Exit.fail(new MessageTooLarge({ size, limit: maxMessageBytes })))
          return
        }
        if (bucket !== undefined && !takeToken(bucket, lastActivity)) {
          mailbox.unsafeDone(Exit.fail(new RateLimitExceeded({ limit: maxMessagesPerSecond })))
          return
        }
        stats.messagesIn++
        stats.bytesIn += size
        mailbox.unsafeOffer(data)
      },
      close(frame) {
        Deferred.unsafeDone(closed, Exit.succeed(frame))
        mailbox.unsafeDone(Exit.void)
      }
    })
    const sendAll = (messages: Iterable<Message>) => {
      // The peer may close while echoes are queued; what can no longer be sent has nobody to read it.
      if (transport.isClosed()) return
      for (const message of messages) {
        transport.send(message)
        stats.messagesOut++
        stats.bytesOut += byteLength(message)
      }
      lastActivity = clock.unsafeCurrentTimeMillis()
    }
    return {
      id: crypto.randomUUID(),
      response,
      messages: Mailbox.toStream(mailbox).pipe(Stream.ensuring(Effect.sync(unlisten))),
      closed: Deferred.await(closed),
      send: (message) => Effect.sync(() => sendAll([message])),
      sendAll: (messages) => Effect.sync(() => sendAll(messages)),
      close: (frame) =>
        Effect.sync(() => {
          if (!transport.isClosed()) transport.close(frame)
        }),
      stats: Effect.sync(() => ({ ...stats })),
      lastActivity: Effect.sync(() => lastActivity)
    }
  })

const WEBSOCKET_CLOSED = 3

const fromWebSocket = (socket: WebSocket): Transport => ({
  send: (message) => socket.send(message),
  close: ({ code, reason }) => socket.close(code, reason),
  isClosed: () => socket.readyState === WEBSOCKET_CLOSED,
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
    upgrade: Effect.fn("WebSocketService.upgrade")(function* (options: UpgradeOptions) {
      const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket]
      // Binary frames stay ArrayBuffers whatever the compatibility date (Blob from 2026-03-17 otherwise).
      server.binaryType = "arraybuffer"
      const response = HttpServerResponse.raw(new Response(null, { status: 101, webSocket: client }))
      const connection = yield* makeConnection(fromWebSocket(server), response, options)
      server.accept()
      return connection
    })
  })

  /** An in-memory service: each upgrade hands its client end to `peers`. Runs anywhere. */
  static readonly layerTest = (peers: Queue.Enqueue<TestPeer>): Layer.Layer<WebSocketService> =>
    Layer.succeed(WebSocketService, {
      upgrade: Effect.fn("WebSocketService.upgrade")(function* (options: UpgradeOptions) {
        const { transport, peer } = yield* makeTestTransport
        const connection = yield* makeConnection(transport, HttpServerResponse.empty({ status: 101 }), options)
        yield* Queue.offer(peers, peer)
        return connection
      })
    })
}
