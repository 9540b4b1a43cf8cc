import * as Socket from "@effect/platform/Socket"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { type SocketOptions, toSocket } from "../../src/runtime/ConnectionSocket.js"
import { type TestPeer, type UpgradeOptions, WebSocketService } from "../../src/services/WebSocketService.js"
import { captureLogs, type LogLine } from "./support.js"

const message = (message: string | ArrayBuffer) => ({ _tag: "Message", message }) as const
const close = (code: number, reason: string) => ({ _tag: "Close", frame: { code, reason } }) as const

/** The echo as @effect/platform users write it: `runRaw` and `writer`, with our prefix in front of text. */
const socketEcho = (socket: Socket.Socket) =>
  Effect.gen(function* () {
    const write = yield* socket.writer
    yield* socket.runRaw((data) => write(typeof data === "string" ? `echo: ${data}` : data))
  })

/** A connection of the in-memory service as a `Socket`, with its client end and its log lines. */
const open = (options: Partial<UpgradeOptions> & SocketOptions = {}) =>
  Effect.gen(function* () {
    const peers = yield* Queue.unbounded<TestPeer>()
    const connection = yield* Effect.flatMap(WebSocketService, (service) =>
      service.upgrade({ maxMessageBytes: 1024, ...options })
    ).pipe(Effect.provide(WebSocketService.layerTest(peers)))
    return { socket: toSocket(connection, options), peer: yield* Queue.take(peers), connection }
  })

/** Runs `program` on the socket in a fiber, its log lines kept in `logs`. */
const serve = <E>(
  socket: Socket.Socket,
  program: (socket: Socket.Socket) => Effect.Effect<void, E, Scope.Scope>,
  logs: Array<LogLine> = []
) => Effect.fork(Effect.scoped(program(socket)).pipe(Effect.provide(captureLogs(logs))))

describe("a Connection as @effect/platform's Socket", () => {
  it.effect("runs a Socket echo: text as string, binary as Uint8Array and back, in order; 1000 completes the run", () =>
    Effect.gen(function* () {
      const { socket, peer } = yield* open()
      const seen: Array<string> = []
      const fiber = yield* serve(socket, (socket) =>
        Effect.gen(function* () {
          const write = yield* socket.writer
          yield* socket.runRaw((data) => {
            seen.push(typeof data === "string" ? "string" : data.constructor.name)
            return write(typeof data === "string" ? `echo: ${data}` : data)
          })
        })
      )
      yield* peer.send("hello")
      yield* peer.send(new Uint8Array([1, 2, 3]).buffer)
      assert.deepStrictEqual(yield* peer.receive, message("echo: hello"))
      const binary = yield* peer.receive
      assert.deepStrictEqual(Array.from(new Uint8Array((binary as { message: ArrayBuffer }).message)), [1, 2, 3])
      yield* peer.close({ code: 1000, reason: "done" })
      assert.deepStrictEqual(yield* peer.receive, close(1000, "done"))
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.void)
      assert.deepStrictEqual(seen, ["string", "Uint8Array"])
    })
  )

  it.effect("writes exactly the bytes of a view into a larger buffer, a Node Buffer from its pool included", () =>
    Effect.gen(function* () {
      const { socket, peer } = yield* open()
      const write = yield* Effect.scoped(socket.writer)
      const pooled = Buffer.from([7, 8, 9])
      assert.notStrictEqual(pooled.buffer.byteLength, 3, "a Buffer from the pool")
      yield* write(pooled)
      yield* write(new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 3))
      for (const bytes of [
        [7, 8, 9],
        [1, 2]
      ]) {
        const sent = yield* peer.receive
        assert.deepStrictEqual(Array.from(new Uint8Array((sent as { message: ArrayBuffer }).message)), bytes)
      }
    })
  )

  it.effect("keeps the frames that arrive before runRaw, in order", () =>
    Effect.gen(function* () {
      const { socket, peer } = yield* open()
      for (const text of ["a", "b", "c"]) yield* peer.send(text)
      yield* serve(socket, socketEcho)
      for (const text of ["a", "b", "c"]) assert.deepStrictEqual(yield* peer.receive, message(`echo: ${text}`))
    })
  )

  it.effect(
    "mirrors the peer's 4000 and ends the run with SocketCloseError, as Socket's default calls it an error",
    () =>
      Effect.gen(function* () {
        const { socket, peer } = yield* open()
        const fiber = yield* serve(socket, socketEcho)
        yield* peer.close({ code: 4000, reason: "bye" })
        assert.deepStrictEqual(yield* peer.receive, close(4000, "bye"))
        const exit = yield* Fiber.await(fiber)
        assert.deepStrictEqual(
          exit,
          Exit.fail(new Socket.SocketCloseError({ reason: "Close", code: 4000, closeReason: "bye" }))
        )
      })
  )

  it.effect("answers an invalid close code with 1002, and follows closeCodeIsError when given", () =>
    Effect.gen(function* () {
      const { socket, peer } = yield* open({ closeCodeIsError: (code) => code !== 2999 && code !== 1000 })
      const fiber = yield* serve(socket, socketEcho)
      yield* peer.close({ code: 2999, reason: "odd" })
      assert.deepStrictEqual(yield* peer.receive, close(1002, "invalid close code"))
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.void)
    })
  )

  it.effect("closes with 1009 over the size limit and ends the run with that code", () =>
    Effect.gen(function* () {
      const { socket, peer } = yield* open({ maxMessageBytes: 4 })
      const fiber = yield* serve(socket, socketEcho)
      yield* peer.send("1234")
      yield* peer.send("12345")
      assert.deepStrictEqual(yield* peer.receive, message("echo: 1234"))
      assert.deepStrictEqual(yield* peer.receive, close(1009, "message too big"))
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(
        exit,
        Exit.fail(new Socket.SocketCloseError({ reason: "Close", code: 1009, closeReason: "message too big" }))
      )
    })
  )

  it.effect("sends the writer's CloseEvent as given, once, and ends with the peer's answer", () =>
    Effect.gen(function* () {
      const lines: Array<LogLine> = []
      const { socket, peer } = yield* open({ log: true })
      const fiber = yield* serve(
        socket,
        (socket) =>
          Effect.gen(function* () {
            const write = yield* socket.writer
            yield* socket.runRaw((data) =>
              data === "stop" ? write(new Socket.CloseEvent(4001, "bye")) : write(`echo: ${String(data)}`)
            )
          }),
        lines
      )
      yield* peer.send("stop")
      assert.deepStrictEqual(yield* peer.receive, close(4001, "bye"))
      yield* peer.send("after the close")
      yield* peer.close({ code: 4001, reason: "bye" })
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(
        exit,
        Exit.fail(new Socket.SocketCloseError({ reason: "Close", code: 4001, closeReason: "bye" }))
      )
      // Nothing more went out: no echo after the close frame, and no second close frame.
      const rest = yield* Effect.fork(Effect.timeoutOption(peer.receive, "1 second"))
      yield* TestClock.adjust("1 second")
      assert.isTrue(Option.isNone(yield* Fiber.join(rest)))
      assert.deepInclude(lines[0]?.annotations, { peerCloseCode: 4001, closeCode: 4001, messagesOut: 0 })
    })
  )

  it.effect("closes with 1011 when a handler fails, and the run fails with the handler's error", () =>
    Effect.gen(function* () {
      const lines: Array<LogLine> = []
      const { socket, peer } = yield* open({ log: true })
      const fiber = yield* serve(socket, (socket) => socket.runRaw(() => Effect.fail("handler failed" as const)), lines)
      yield* peer.send("anything")
      assert.deepStrictEqual(yield* peer.receive, close(1011, "internal error"))
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail("handler failed" as const))
      assert.strictEqual(lines.length, 1)
      assert.deepInclude(lines[0]?.annotations, { closeCode: 1011, peerCloseCode: null })
    })
  )

  it.effect("closes with 1001 when the run is interrupted, and writes the one log line", () =>
    Effect.gen(function* () {
      const lines: Array<LogLine> = []
      const { socket, peer } = yield* open({ log: true })
      const fiber = yield* serve(socket, socketEcho, lines)
      yield* peer.send("hello")
      assert.deepStrictEqual(yield* peer.receive, message("echo: hello"))
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(yield* peer.receive, close(1001, "going away"))
      assert.isFalse(yield* peer.listening)
      assert.strictEqual(lines.length, 1)
      assert.deepInclude(lines[0]?.annotations, { messagesIn: 1, messagesOut: 1, closeCode: 1001 })
    })
  )

  it.effect("writes no log line of its own unless asked (log)", () =>
    Effect.gen(function* () {
      const lines: Array<LogLine> = []
      const { socket, peer } = yield* open()
      const fiber = yield* serve(socket, socketEcho, lines)
      yield* peer.send("hello")
      assert.deepStrictEqual(yield* peer.receive, message("echo: hello"))
      yield* peer.close({ code: 1000, reason: "" })
      assert.deepStrictEqual(yield* peer.receive, close(1000, ""))
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(lines, [])
    })
  )

  it.effect("runs onOpen before the handler sees a frame, and run hands text over as UTF-8 bytes", () =>
    Effect.gen(function* () {
      const { socket, peer } = yield* open()
      const order: Array<string> = []
      yield* serve(socket, (socket) =>
        Effect.gen(function* () {
          const write = yield* socket.writer
          yield* socket.run((bytes) => write(bytes), { onOpen: Effect.sync(() => order.push("open")) })
        })
      )
      yield* peer.send("€")
      const echoed = yield* peer.receive
      assert.deepStrictEqual(
        Array.from(new Uint8Array((echoed as { message: ArrayBuffer }).message)),
        [0xe2, 0x82, 0xac]
      )
      assert.deepStrictEqual(order, ["open"])
    })
  )
})
