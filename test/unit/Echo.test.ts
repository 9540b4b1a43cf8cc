import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as Queue from "effect/Queue"
import { echo } from "../../src/runtime/Echo.js"
import { type TestPeer, WebSocketService } from "../../src/services/WebSocketService.js"

/** Upgrades through the test layer, starts the echo, and returns the client end and the echo's fiber. */
const connect = (options: { prefix?: string; maxMessageBytes?: number } = {}) =>
  Effect.gen(function* () {
    const peers = yield* Queue.unbounded<TestPeer>()
    const connection = yield* Effect.flatMap(WebSocketService, (service) =>
      service.upgrade({ maxMessageBytes: options.maxMessageBytes ?? 1024 })
    ).pipe(Effect.provide(WebSocketService.layerTest(peers)))
    const fiber = yield* Effect.fork(echo(connection, options.prefix ?? "echo: "))
    const peer = yield* Queue.take(peers)
    return { peer, fiber, connection }
  })

const message = (message: string | ArrayBuffer) => ({ _tag: "Message", message }) as const
const close = (code: number, reason: string) => ({ _tag: "Close", frame: { code, reason } }) as const

describe("echo, against the in-memory WebSocketService", () => {
  it.effect("echoes text and binary through the prefix, in order, then mirrors the close", () =>
    Effect.gen(function* () {
      const { peer, fiber, connection } = yield* connect()
      yield* peer.send("hello")
      yield* peer.send(new Uint8Array([1, 2]).buffer)
      yield* peer.send("wörld")
      assert.deepStrictEqual(yield* peer.receive, message("echo: hello"))
      const binary = yield* peer.receive
      assert.strictEqual(binary._tag, "Message")
      assert.deepStrictEqual(Array.from(new Uint8Array((binary as { message: ArrayBuffer }).message)), [
        ...new TextEncoder().encode("echo: "),
        1,
        2
      ])
      assert.deepStrictEqual(yield* peer.receive, message("echo: wörld"))
      yield* peer.close({ code: 4000, reason: "bye" })
      assert.deepStrictEqual(yield* peer.receive, close(4000, "bye"))
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* connection.stats, { messagesIn: 3, bytesIn: 13, messagesOut: 3, bytesOut: 31 })
    })
  )

  it.effect("answers a close without a code with 1000, and an invalid code with 1002", () =>
    Effect.gen(function* () {
      const first = yield* connect()
      yield* first.peer.close({ code: 1005, reason: "" })
      assert.deepStrictEqual(yield* first.peer.receive, close(1000, ""))
      const second = yield* connect()
      yield* second.peer.close({ code: 2999, reason: "odd" })
      assert.deepStrictEqual(yield* second.peer.receive, close(1002, "invalid close code"))
    })
  )

  it.effect("echoes a message of exactly the limit and closes with 1009 at one byte more", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* connect({ maxMessageBytes: 8, prefix: "" })
      yield* peer.send("12345678")
      yield* peer.send("€€€")
      yield* peer.send("never echoed")
      assert.deepStrictEqual(yield* peer.receive, message("12345678"))
      assert.deepStrictEqual(yield* peer.receive, close(1009, "message too big"))
      yield* Fiber.join(fiber)
    })
  )

  it.effect("stops listening to the socket once it has ended", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* connect()
      assert.isTrue(yield* peer.listening)
      yield* peer.close({ code: 1000, reason: "" })
      yield* Fiber.join(fiber)
      assert.isFalse(yield* peer.listening)
    })
  )

  it.effect("logs one structured line per connection when it ends, without message contents", () => {
    const lines: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
    const logger = Logger.make(({ message, annotations }) =>
      lines.push({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
    )
    return Effect.gen(function* () {
      const { peer, fiber, connection } = yield* connect()
      yield* peer.send("secret-text")
      yield* peer.receive
      yield* peer.close({ code: 4000, reason: "" })
      yield* Fiber.join(fiber)
      assert.strictEqual(lines.length, 1)
      const [line] = lines
      assert.deepStrictEqual(line?.message, ["connection ended"])
      assert.deepInclude(line?.annotations, {
        connection: connection.id,
        messagesIn: 1,
        bytesIn: 11,
        messagesOut: 1,
        bytesOut: 17,
        peerCloseCode: 4000,
        closeCode: 4000
      })
      assert.isNumber(line?.annotations.durationMs)
      assert.notInclude(JSON.stringify(lines), "secret")
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  })

  it.effect("keeps order across many messages queued at once", () =>
    Effect.gen(function* () {
      const { peer } = yield* connect()
      for (let i = 0; i < 500; i++) yield* peer.send(`m${i}`)
      for (let i = 0; i < 500; i++) assert.deepStrictEqual(yield* peer.receive, message(`echo: m${i}`))
    })
  )
})
