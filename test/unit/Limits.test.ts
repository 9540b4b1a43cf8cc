import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as TestClock from "effect/TestClock"
import type { EchoSettings } from "../../src/services/EchoConfig.js"
import type { TestPeer } from "../../src/services/WebSocketService.js"
import { connect, PIPELINES, respond } from "./support.js"

const message = (message: string) => ({ _tag: "Message", message }) as const
const close = (code: number, reason: string) => ({ _tag: "Close", frame: { code, reason } }) as const

describe.each(PIPELINES)("idle timeout, on the TestClock (%s)", (pipeline) => {
  it.effect("closes with 1001 once no message went either way for the timeout, counting from the last one", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { idleTimeoutMs: 10_000 })
      yield* TestClock.adjust("9 seconds")
      yield* peer.send("still here")
      assert.deepStrictEqual(yield* peer.receive, message("echo: still here"))
      yield* TestClock.adjust("9 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "closed 9 s after the last message")
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* peer.receive, close(1001, "idle timeout"))
      yield* Fiber.join(fiber)
      assert.isFalse(yield* peer.listening)
    })
  )

  it.effect("closes a socket that never carried a message, timed from the upgrade", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { idleTimeoutMs: 600_000 })
      yield* TestClock.adjust("599 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* peer.receive, close(1001, "idle timeout"))
      yield* Fiber.join(fiber)
    })
  )

  it.effect("stops its timer when the peer closes first", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { idleTimeoutMs: 10_000 })
      yield* peer.close({ code: 4000, reason: "bye" })
      assert.deepStrictEqual(yield* peer.receive, close(4000, "bye"))
      yield* Fiber.join(fiber)
      yield* TestClock.adjust("1 minute")
      assert.isFalse(yield* peer.listening)
    })
  )

  it.effect("never fires with a timeout of 0", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { idleTimeoutMs: 0 })
      yield* TestClock.adjust("1 day")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* peer.send("late")
      assert.deepStrictEqual(yield* peer.receive, message("echo: late"))
    })
  )
})

describe.each(PIPELINES)("message rate limit, on the TestClock (%s)", (pipeline) => {
  it.effect("echoes a burst of one second's worth and closes with 1008 at the next message", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { maxMessagesPerSecond: 3 })
      for (const text of ["a", "b", "c", "d", "e"]) yield* peer.send(text)
      for (const text of ["a", "b", "c"]) assert.deepStrictEqual(yield* peer.receive, message(`echo: ${text}`))
      assert.deepStrictEqual(yield* peer.receive, close(1008, "rate limit"))
      yield* Fiber.join(fiber)
    })
  )

  it.effect("refills over time, so a peer within its rate is never closed", () =>
    Effect.gen(function* () {
      const { peer, fiber } = yield* connect(pipeline, { maxMessagesPerSecond: 3 })
      for (let second = 0; second < 5; second++) {
        for (let i = 0; i < 3; i++) yield* peer.send(`${second}.${i}`)
        for (let i = 0; i < 3; i++) assert.deepStrictEqual(yield* peer.receive, message(`echo: ${second}.${i}`))
        yield* TestClock.adjust("1 second")
      }
      yield* TestClock.adjust("400 millis")
      for (const text of ["x", "y", "z", "over"]) yield* peer.send(text)
      for (const text of ["x", "y", "z"]) assert.deepStrictEqual(yield* peer.receive, message(`echo: ${text}`))
      assert.deepStrictEqual(yield* peer.receive, close(1008, "rate limit"))
      yield* Fiber.join(fiber)
    })
  )
})

describe("ALLOWED_ORIGINS and REQUIRE_ORIGIN, through the app", () => {
  const upgrade = (settings: Partial<EchoSettings>, headers: Record<string, string>) =>
    Effect.gen(function* () {
      const peers = yield* Queue.unbounded<TestPeer>()
      const request = new Request("http://echo.test/echo", { headers: { upgrade: "websocket", ...headers } })
      const { response } = yield* respond(request, settings, peers)
      return {
        status: response.status,
        body: yield* Effect.promise(() => response.text()),
        contentType: response.headers.get("content-type"),
        peers: yield* Queue.size(peers)
      }
    })
  const listed = { allowedOrigins: ["https://app.example"] }

  it.effect("upgrades a listed origin, in any case and with its default port", () =>
    Effect.gen(function* () {
      for (const origin of ["https://app.example", "HTTPS://App.Example:443"]) {
        const result = yield* upgrade(listed, { origin })
        assert.strictEqual(result.status, 101, origin)
        assert.strictEqual(result.peers, 1)
      }
    })
  )

  it.effect("answers an unlisted origin with 403 JSON before upgrading", () =>
    Effect.gen(function* () {
      for (const origin of ["https://evil.example", "http://app.example", "null"]) {
        const result = yield* upgrade(listed, { origin })
        assert.strictEqual(result.status, 403)
        assert.strictEqual(result.contentType, "application/json")
        assert.deepStrictEqual(JSON.parse(result.body), {
          error: `Origin ${JSON.stringify(origin)} is not allowed`,
          code: "ORIGIN_NOT_ALLOWED"
        })
        assert.strictEqual(result.peers, 0, "no socket was created")
      }
    })
  )

  it.effect("allows no Origin unless REQUIRE_ORIGIN, and any origin when none is listed", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* upgrade(listed, {})).status, 101)
      const required = yield* upgrade({ ...listed, requireOrigin: true }, {})
      assert.strictEqual(required.status, 403)
      assert.deepStrictEqual(JSON.parse(required.body), {
        error: "An Origin header is required",
        code: "ORIGIN_NOT_ALLOWED"
      })
      assert.strictEqual((yield* upgrade({}, { origin: "https://anyone.example" })).status, 101)
    })
  )
})
