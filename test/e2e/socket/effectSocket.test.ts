import * as Socket from "@effect/platform/Socket"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import { allClosed, webSocketConstructor } from "../effectSocket.js"
import { echoUrl, TIMEOUT_MS } from "../wsClient.js"

const PREFIX = new TextEncoder().encode("echo: ")
const bytes = (...parts: ReadonlyArray<ArrayLike<number>>) => parts.flatMap((part) => Array.from(part))

/**
 * @effect/platform's own client, `Socket.makeWebSocket` over `ws`, on the fixture's echo: its `runRaw` in a
 * fiber of the test's scope, each frame it receives in a queue (offered inside the event, so in order), and
 * its writer. `next` takes one frame, failing after `TIMEOUT_MS`.
 */
const connect = (options?: Parameters<typeof Socket.makeWebSocket>[1]) =>
  Effect.gen(function* () {
    const webSocket = webSocketConstructor()
    const socket = yield* Effect.provide(Socket.makeWebSocket(echoUrl(), options), webSocket.layer)
    const received = yield* Queue.unbounded<string | Uint8Array>()
    const run = yield* Effect.forkScoped(socket.runRaw((data) => void Queue.unsafeOffer(received, data)))
    const write = yield* socket.writer
    const next = Effect.timeoutFail(Queue.take(received), {
      duration: TIMEOUT_MS,
      onTimeout: () => new Error(`no frame within ${TIMEOUT_MS} ms`)
    })
    /** How the run ended, once the socket has closed. */
    const ended = Effect.timeoutFail(Fiber.await(run), {
      duration: TIMEOUT_MS,
      onTimeout: () => new Error(`the run did not end within ${TIMEOUT_MS} ms`)
    })
    const closed = Effect.promise(() => allClosed(webSocket.opened))
    return { write, next, ended, closed }
  })

const closeError = (code: number, closeReason: string) =>
  Exit.fail(new Socket.SocketCloseError({ reason: "Close", code, closeReason }))

describe("@effect/platform's Socket.makeWebSocket against the Socket echo (wrangler dev)", () => {
  it.scopedLive("echoes text as text and binary as the prefix's bytes and the payload", () =>
    Effect.gen(function* () {
      const client = yield* connect()
      yield* client.write("hello → 世界")
      assert.strictEqual(yield* client.next, "echo: hello → 世界")
      yield* client.write(new Uint8Array([0, 1, 254, 255]))
      const binary = yield* client.next
      assert.instanceOf(binary, Uint8Array)
      assert.deepStrictEqual(bytes(binary as Uint8Array), bytes(PREFIX, [0, 1, 254, 255]))
      yield* client.write(new Uint8Array(0))
      assert.deepStrictEqual(bytes((yield* client.next) as Uint8Array), bytes(PREFIX))
      yield* client.write(new Socket.CloseEvent(1000))
      assert.deepStrictEqual(yield* client.ended, Exit.void)
    })
  )

  it.scopedLive("keeps the order of 200 pipelined messages, text and binary interleaved", () =>
    Effect.gen(function* () {
      const client = yield* connect()
      for (let i = 0; i < 200; i++) yield* client.write(i % 4 === 0 ? new Uint8Array([i]) : `m${i}`)
      for (let i = 0; i < 200; i++) {
        const frame = yield* client.next
        if (i % 4 === 0) assert.deepStrictEqual(bytes(frame as Uint8Array), bytes(PREFIX, [i]), `frame ${i}`)
        else assert.strictEqual(frame, `echo: m${i}`)
      }
      yield* client.write(new Socket.CloseEvent(1000))
      assert.deepStrictEqual(yield* client.ended, Exit.void)
    })
  )

  it.scopedLive("a close with 4000 is mirrored; the run fails with it, unless closeCodeIsError says it is clean", () =>
    Effect.gen(function* () {
      // @effect/platform counts every code but 1000 and 1006 as an error by default.
      const strict = yield* connect()
      yield* strict.write(new Socket.CloseEvent(4000, "bye"))
      assert.deepStrictEqual(yield* strict.ended, closeError(4000, "bye"))
      yield* strict.closed

      const lenient = yield* connect({ closeCodeIsError: (code) => code !== 4000 && code !== 1000 })
      yield* lenient.write("one")
      assert.strictEqual(yield* lenient.next, "echo: one")
      yield* lenient.write(new Socket.CloseEvent(4000, "bye"))
      assert.deepStrictEqual(yield* lenient.ended, Exit.void)
      yield* lenient.closed
    })
  )

  it.scopedLive("a message of the limit + 1 byte ends the run with the server's 1009", () =>
    Effect.gen(function* () {
      const client = yield* connect()
      yield* client.write("before")
      yield* client.write(new Uint8Array(1_048_577))
      assert.strictEqual(yield* client.next, "echo: before")
      assert.deepStrictEqual(yield* client.ended, closeError(1009, "message too big"))
      yield* client.closed
    })
  )
})
