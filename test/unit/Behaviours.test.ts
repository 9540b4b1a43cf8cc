import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import type { Connection, Sent, TestPeer } from "../../src/services/WebSocketService.js"
import { connect, type LogLine, PIPELINES } from "./support.js"

const message = (message: string) => ({ _tag: "Message", message }) as const
const close = (code: number, reason: string) => ({ _tag: "Close", frame: { code, reason } }) as const

/** Moves the `TestClock` on and lets every fiber woken by it run. */
const advance = (ms: number) => Effect.zipRight(TestClock.adjust(ms), Effect.repeatN(Effect.yieldNow(), 20))

/** How many messages the server has sent so far (closes not counted). */
const sent = (connection: Connection) => Effect.map(connection.stats, ({ messagesOut }) => messagesOut)

const receiveAll = (peer: TestPeer, count: number): Effect.Effect<Array<Sent>> =>
  Effect.all(Array.from({ length: count }, () => peer.receive))

describe.each(PIPELINES)("the %s echo's behaviours, on the TestClock", (pipeline) => {
  it.effect("sends the info, then the greeting, then the echoes", () =>
    Effect.gen(function* () {
      const { peer, connection } = yield* connect(pipeline, { query: "?greeting=hi" })
      yield* peer.send("a")
      assert.deepStrictEqual(yield* receiveAll(peer, 2), [message("hi"), message("echo: a")])
      assert.strictEqual(yield* sent(connection), 2)
    })
  )

  it.effect("closes with the code and reason asked for once it has sent N echoes, and echoes nothing after", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { peer, fiber, connection } = yield* connect(pipeline, {
        query: "?close_code=4001&close_reason=bye&close_after=2",
        logs
      })
      for (const text of ["a", "b", "c"]) yield* peer.send(text)
      assert.deepStrictEqual(yield* receiveAll(peer, 3), [message("echo: a"), message("echo: b"), close(4001, "bye")])
      yield* peer.close({ code: 4001, reason: "bye" })
      yield* Fiber.join(fiber)
      assert.strictEqual(yield* sent(connection), 2)
      const line = logs.find((log) => String(log.message) === "connection ended")
      assert.deepInclude(line?.annotations, {
        closeCode: 4001,
        peerCloseCode: 4001,
        messagesIn: 3,
        messagesOut: 2,
        behaviours: ["close_code", "close_reason", "close_after"]
      })
    })
  })

  it.effect("closes right after the greeting with neither after parameter, with 1000 by default", () =>
    Effect.gen(function* () {
      const first = yield* connect(pipeline, { query: "?greeting=hi&close_code=3000" })
      assert.deepStrictEqual(yield* receiveAll(first.peer, 2), [message("hi"), close(3000, "")])
      const second = yield* connect(pipeline, { query: "?close_reason=done" })
      assert.deepStrictEqual(yield* second.peer.receive, close(1000, "done"))
    })
  )

  it.effect("closes close_after_ms after the upgrade, unless the echoes asked for came first", () =>
    Effect.gen(function* () {
      const timed = yield* connect(pipeline, { query: "?close_after_ms=100&close_after=5" })
      yield* timed.peer.send("a")
      assert.deepStrictEqual(yield* timed.peer.receive, message("echo: a"))
      yield* advance(99)
      yield* timed.peer.send("b")
      assert.deepStrictEqual(yield* timed.peer.receive, message("echo: b"))
      yield* advance(1)
      assert.deepStrictEqual(yield* timed.peer.receive, close(1000, ""))
      const counted = yield* connect(pipeline, { query: "?close_after_ms=100&close_after=1&close_code=4002" })
      yield* counted.peer.send("a")
      assert.deepStrictEqual(yield* receiveAll(counted.peer, 2), [message("echo: a"), close(4002, "")])
    })
  )

  it.effect("sends each echo delay_ms after its message, in order", () =>
    Effect.gen(function* () {
      const { peer, connection } = yield* connect(pipeline, { query: "?delay_ms=100" })
      yield* peer.send("a")
      yield* advance(50)
      yield* peer.send("b")
      yield* advance(49)
      assert.strictEqual(yield* sent(connection), 0)
      yield* advance(1)
      assert.deepStrictEqual(yield* peer.receive, message("echo: a"))
      assert.strictEqual(yield* sent(connection), 1)
      yield* advance(50)
      assert.deepStrictEqual(yield* peer.receive, message("echo: b"))
    })
  )

  it.effect("pushes the text push_count times, every push_every_ms, alongside the echoes", () =>
    Effect.gen(function* () {
      const { peer, connection } = yield* connect(pipeline, { query: "?push=tick&push_every_ms=100&push_count=3" })
      yield* advance(99)
      assert.strictEqual(yield* sent(connection), 0)
      yield* advance(1)
      assert.deepStrictEqual(yield* peer.receive, message("tick"))
      yield* peer.send("a")
      assert.deepStrictEqual(yield* peer.receive, message("echo: a"))
      yield* advance(200)
      assert.deepStrictEqual(yield* receiveAll(peer, 2), [message("tick"), message("tick")])
      yield* advance(1_000)
      assert.strictEqual(yield* sent(connection), 4)
    })
  )

  it.effect("stops pushing at the close it was asked for", () =>
    Effect.gen(function* () {
      const { peer, connection } = yield* connect(pipeline, {
        query: "?push=tick&push_every_ms=10&push_count=100&close_after_ms=25"
      })
      for (let ms = 0; ms < 25; ms += 5) yield* advance(5)
      assert.deepStrictEqual(yield* receiveAll(peer, 3), [message("tick"), message("tick"), close(1000, "")])
      yield* advance(100)
      assert.strictEqual(yield* sent(connection), 2)
    })
  )

  it.effect("stalled, sends nothing and leaves the peer's close unanswered until the idle timeout", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { peer, fiber, connection } = yield* connect(pipeline, {
        query: "?stall=true&greeting=hi&push=x&push_every_ms=10",
        idleTimeoutMs: 1_000,
        logs
      })
      yield* peer.send("a")
      yield* advance(500)
      yield* peer.close({ code: 1000, reason: "" })
      yield* advance(499)
      assert.strictEqual(yield* sent(connection), 0)
      assert.isTrue(yield* peer.listening)
      yield* advance(1)
      assert.deepStrictEqual(yield* peer.receive, close(1001, "idle timeout"))
      yield* Fiber.join(fiber)
      const line = logs.find((log) => String(log.message) === "connection ended")
      assert.deepInclude(line?.annotations, { closeCode: 1001, messagesIn: 1, messagesOut: 0 })
    })
  })

  it.effect("stalled, still closes with 1009 for a message over the limit", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, {
        query: "?stall=true",
        idleTimeoutMs: 1_000,
        maxMessageBytes: 4
      })
      yield* peer.send("too long")
      assert.deepStrictEqual(yield* peer.receive, close(1009, "message too big"))
      yield* Fiber.join(fiber)
    })
  )

  it.effect("counts pushes as activity for the idle timeout", () =>
    Effect.gen(function* () {
      const { peer } = yield* connect(pipeline, {
        query: "?push=p&push_every_ms=600&push_count=2",
        idleTimeoutMs: 1_000
      })
      yield* advance(600)
      assert.deepStrictEqual(yield* peer.receive, message("p"))
      yield* advance(600)
      assert.deepStrictEqual(yield* peer.receive, message("p"))
      yield* advance(999)
      yield* peer.send("still here")
      assert.deepStrictEqual(yield* peer.receive, message("echo: still here"))
    })
  )
})
