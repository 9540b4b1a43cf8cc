import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import { superviseExit } from "../../src/runtime/Echo.js"
import { type MessageHandler, type TestPeer, WebSocketService } from "../../src/services/WebSocketService.js"
import { captureLogs, connect, type LogLine, PIPELINES } from "./support.js"

const message = (message: string | ArrayBuffer) => ({ _tag: "Message", message }) as const
const close = (code: number, reason: string) => ({ _tag: "Close", frame: { code, reason } }) as const

describe.each(PIPELINES)("the %s echo, against the in-memory WebSocketService", (pipeline) => {
  it.effect("echoes text and binary through the prefix, in order, then mirrors the close", () =>
    Effect.gen(function* () {
      const { peer, fiber, connection } = yield* connect(pipeline)
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
      const first = yield* connect(pipeline)
      yield* first.peer.close({ code: 1005, reason: "" })
      assert.deepStrictEqual(yield* first.peer.receive, close(1000, ""))
      const second = yield* connect(pipeline)
      yield* second.peer.close({ code: 2999, reason: "odd" })
      assert.deepStrictEqual(yield* second.peer.receive, close(1002, "invalid close code"))
    })
  )

  it.effect("echoes a message of exactly the limit and closes with 1009 at one byte more", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { maxMessageBytes: 8, prefix: "" })
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
      const { peer, fiber } = yield* connect(pipeline)
      assert.isTrue(yield* peer.listening)
      yield* peer.close({ code: 1000, reason: "" })
      yield* Fiber.join(fiber)
      assert.isFalse(yield* peer.listening)
    })
  )

  it.effect("logs one structured line per connection when it ends, without message contents", () => {
    const lines: Array<LogLine> = []
    return Effect.gen(function* () {
      const { peer, fiber, connection } = yield* connect(pipeline, { logs: lines, protocol: "chat" })
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
        protocol: "chat",
        peerCloseCode: 4000,
        closeCode: 4000
      })
      assert.isNumber(line?.annotations.durationMs)
      assert.notInclude(JSON.stringify(lines), "secret")
    })
  })

  it.effect("keeps order across many messages queued at once", () =>
    Effect.gen(function* () {
      const { peer } = yield* connect(pipeline)
      for (let i = 0; i < 500; i++) yield* peer.send(`m${i}`)
      for (let i = 0; i < 500; i++) assert.deepStrictEqual(yield* peer.receive, message(`echo: m${i}`))
    })
  )
})

describe("Connection.run with replies that are effects", () => {
  /** Upgrades through the in-memory service and runs `handler` on the connection, supervised like an echo. */
  const runWith = <E>(handler: MessageHandler<E>) =>
    Effect.gen(function* () {
      const peers = yield* Queue.unbounded<TestPeer>()
      const connection = yield* Effect.flatMap(WebSocketService, (service) =>
        service.upgrade({ maxMessageBytes: 1024 })
      ).pipe(Effect.provide(WebSocketService.layerTest(peers)))
      const fiber = yield* Effect.fork(Effect.exit(connection.run(handler)))
      return { peer: yield* Queue.take(peers), fiber }
    })

  it.effect("sends an effect's result when it completes, and completes at the close once every reply is sent", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const { peer, fiber } = yield* runWith((message) =>
        message === "slow" ? Effect.as(Deferred.await(gate), "slow done") : `sync ${String(message)}`
      )
      yield* peer.send("slow")
      yield* peer.send("fast")
      assert.deepStrictEqual(yield* peer.receive, message("sync fast"))
      yield* peer.close({ code: 1000, reason: "" })
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "still waiting for the slow reply")
      yield* Deferred.succeed(gate, undefined)
      assert.deepStrictEqual(yield* peer.receive, message("slow done"))
      assert.deepStrictEqual(yield* Fiber.join(fiber), Exit.void)
    })
  )

  it.effect("sends nothing for a reply of undefined, and fails with the first failure of a reply's effect", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* runWith((message) =>
        message === "boom" ? Effect.fail("handler failed" as const) : undefined
      )
      yield* peer.send("quiet")
      yield* peer.send("boom")
      assert.deepStrictEqual(yield* Fiber.join(fiber), Exit.fail("handler failed" as const))
    })
  )
})

describe("a program on a connection that fails", () => {
  it.effect("closes with 1011, and the connection's one line says 1011 and internal", () =>
    Effect.gen(function* () {
      const lines: Array<LogLine> = []
      const peers = yield* Queue.unbounded<TestPeer>()
      const connection = yield* Effect.flatMap(WebSocketService, (service) =>
        service.upgrade({ maxMessageBytes: 1024 })
      ).pipe(Effect.provide(WebSocketService.layerTest(peers)))
      const fiber = yield* Effect.fork(
        superviseExit(
          connection,
          connection.run(() => Effect.die(new Error("reply exploded")))
        ).pipe(Effect.provide(captureLogs(lines)))
      )
      const peer = yield* Queue.take(peers)
      yield* peer.send("anything")
      assert.deepStrictEqual(yield* peer.receive, close(1011, "internal error"))
      const { exit } = yield* Fiber.join(fiber)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(lines.length, 1)
      assert.deepInclude(lines[0]?.annotations, { closeCode: 1011, ending: "internal" })
    })
  )
})
