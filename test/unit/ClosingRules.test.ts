import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { CLOSE_TIMEOUT_MS } from "../../src/domain/ConnectionMachine.js"
import { connect, type LogLine, PIPELINES } from "./support.js"

const message = (message: string) => ({ _tag: "Message", message }) as const
const close = (code: number, reason: string) => ({ _tag: "Close", frame: { code, reason } }) as const

/** Moves the `TestClock` on and lets every fiber woken by it run. */
const advance = (ms: number) => Effect.zipRight(TestClock.adjust(ms), Effect.repeatN(Effect.yieldNow(), 20))

const endedLines = (logs: Array<LogLine>) => logs.filter((log) => String(log.message) === "connection ended")

// The closing handshake's rules as both Worker pipelines drive them, each case a defect the pipelines once had.
describe.each(PIPELINES)("the %s echo's closing rules, on the TestClock", (pipeline) => {
  it.effect("a close the server asked for ends at the closing deadline when the peer never answers", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { peer, fiber, connection } = yield* connect(pipeline, {
        query: "?close_code=4001&close_reason=bye",
        idleTimeoutMs: 3_000,
        logs
      })
      assert.deepStrictEqual(yield* peer.receive, close(4001, "bye"))
      yield* advance(2_999)
      assert.isNull(fiber.unsafePoll(), "still waiting for the peer's answer")
      yield* advance(1)
      yield* Fiber.join(fiber)
      assert.isFalse(yield* peer.listening)
      assert.deepStrictEqual((yield* connection.ended).why, "handshake-timeout")
      assert.strictEqual(endedLines(logs).length, 1)
      assert.deepInclude(endedLines(logs)[0]?.annotations, {
        ending: "handshake-timeout",
        closeCode: 4001,
        peerCloseCode: null
      })
    })
  })

  it.effect("the closing deadline is at most CLOSE_TIMEOUT_MS, however long the idle timeout", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { query: "?close_after=0", idleTimeoutMs: 600_000, logs })
      assert.deepStrictEqual(yield* peer.receive, close(1000, ""))
      yield* advance(CLOSE_TIMEOUT_MS)
      yield* Fiber.join(fiber)
      assert.deepInclude(endedLines(logs)[0]?.annotations, {
        ending: "handshake-timeout",
        durationMs: CLOSE_TIMEOUT_MS
      })
    })
  })

  it.effect("a peer that drops is logged as a drop: 1006, no close frame attempted", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { logs })
      yield* peer.send("hi")
      assert.deepStrictEqual(yield* peer.receive, message("echo: hi"))
      yield* peer.close({ code: 1006, reason: "" })
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(endedLines(logs).length, 1)
      assert.deepInclude(endedLines(logs)[0]?.annotations, {
        ending: "transport",
        peerCloseCode: 1006,
        closeCode: null
      })
      assert.strictEqual(yield* Effect.map(Effect.either(peer.receive.pipe(Effect.timeout(0))), (e) => e._tag), "Left")
    })
  })

  it.effect("a transport that fails ends the connection the same way, with nothing sent on it", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { logs })
      yield* peer.drop
      yield* Fiber.join(fiber)
      assert.deepInclude(endedLines(logs)[0]?.annotations, {
        ending: "transport",
        peerCloseCode: 1006,
        closeCode: null
      })
    })
  })

  it.effect("a close reason over 123 bytes is a protocol error: answered 1002, and the connection ends", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { logs })
      yield* peer.close({ code: 1000, reason: "r".repeat(124) })
      assert.deepStrictEqual(yield* peer.receive, close(1002, "close reason too long"))
      yield* Fiber.join(fiber)
      assert.deepInclude(endedLines(logs)[0]?.annotations, {
        ending: "protocol-error",
        peerCloseCode: 1000,
        closeCode: 1002
      })
    })
  })

  it.effect(
    "after a limit's close, later frames are neither echoed nor closed again, and the line is written once",
    () => {
      const logs: Array<LogLine> = []
      return Effect.gen(function* () {
        const { peer, fiber } = yield* connect(pipeline, { maxMessageBytes: 16, logs })
        yield* peer.send("x".repeat(40))
        for (const text of ["a", "b", "c", "d", "e"]) yield* peer.send(text)
        assert.deepStrictEqual(yield* peer.receive, close(1009, "message too big"))
        yield* Fiber.join(fiber)
        yield* advance(60_000)
        assert.strictEqual(
          yield* Effect.map(Effect.either(peer.receive.pipe(Effect.timeout(0))), (e) => e._tag),
          "Left"
        )
        assert.strictEqual(endedLines(logs).length, 1)
        assert.deepInclude(endedLines(logs)[0]?.annotations, { ending: "too-big", closeCode: 1009, messagesOut: 0 })
      })
    }
  )
})
