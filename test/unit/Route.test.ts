import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import { route } from "../../src/runtime/Route.js"
import { EchoConfig } from "../../src/services/EchoConfig.js"
import { EchoRooms } from "../../src/services/EchoRooms.js"
import { type TestPeer, WebSocketService } from "../../src/services/WebSocketService.js"
import { captureLogs, type LogLine, PIPELINES, respond, testExecutionContext } from "./support.js"

const upgradeRequest = (headers: Record<string, string>) =>
  new Request("http://echo.test/echo", { headers: { upgrade: "websocket", ...headers } })

describe.each(PIPELINES)("the service on Node, with the in-memory WebSocketService (%s)", (pipeline) => {
  it.effect("upgrades GET /echo whatever the case of the Upgrade token, and hands the socket to the echo", () =>
    Effect.gen(function* () {
      const peers = yield* Queue.unbounded<TestPeer>()
      for (const upgrade of ["websocket", "WebSocket", "WEBSOCKET"]) {
        const { response } = yield* respond(upgradeRequest({ upgrade }), { pipeline }, peers)
        assert.strictEqual(response.status, 101, upgrade)
        const peer = yield* Queue.take(peers)
        yield* peer.send(upgrade)
        assert.deepStrictEqual(yield* peer.receive, { _tag: "Message", message: `echo: ${upgrade}` })
      }
    })
  )
})

describe("route, on Node", () => {
  it.effect("refuses a Sec-WebSocket-Version other than 13 with 426 naming 13, no socket; accepts 13 and none", () =>
    Effect.gen(function* () {
      for (const version of ["8", "", " 12 ", "13, 8"]) {
        const { response, peers } = yield* respond(upgradeRequest({ "sec-websocket-version": version }))
        assert.strictEqual(response.status, 426, version)
        assert.strictEqual(response.headers.get("sec-websocket-version"), "13")
        assert.deepStrictEqual(yield* Effect.promise(() => response.json()), {
          error: `Sec-WebSocket-Version must be 13, got ${JSON.stringify(version.trim())}`,
          code: "UNSUPPORTED_WEBSOCKET_VERSION"
        })
        assert.strictEqual(yield* Queue.size(peers), 0)
      }
      for (const headers of [{ "sec-websocket-version": "13" }, {}]) {
        assert.strictEqual((yield* respond(upgradeRequest(headers))).response.status, 101)
      }
    })
  )

  it.effect("refuses an Upgrade the runtime cannot answer with 101 (a token list) with 400 JSON, no socket", () =>
    Effect.gen(function* () {
      for (const upgrade of ["websocket, h2c", "h2c, WebSocket"]) {
        const { response, peers } = yield* respond(upgradeRequest({ upgrade }))
        assert.strictEqual(response.status, 400, upgrade)
        assert.strictEqual(response.headers.get("content-type"), "application/json")
        assert.deepStrictEqual(yield* Effect.promise(() => response.json()), {
          error: `Upgrade must be the single token websocket; this runtime cannot switch protocols for ${JSON.stringify(upgrade)}`,
          code: "UNSUPPORTED_UPGRADE"
        })
        assert.strictEqual(yield* Queue.size(peers), 0)
      }
    })
  )

  it.effect("answers a defect with a logged 500 that tells the client nothing of it", () =>
    Effect.gen(function* () {
      const logs: Array<LogLine> = []
      const failing = Layer.succeed(WebSocketService, { upgrade: () => Effect.die(new Error("secret detail")) })
      const response = yield* route(upgradeRequest({})).pipe(
        Effect.provide(Layer.mergeAll(failing, EchoConfig.layerWith(), testExecutionContext)),
        Effect.provide(captureLogs(logs))
      )
      assert.strictEqual(response.status, 500)
      assert.strictEqual(
        yield* Effect.promise(() => response.text()),
        '{"error":"Internal server error","code":"INTERNAL_ERROR"}'
      )
      assert.isTrue(
        logs.some((line) => line.level === "ERROR" && line.cause.includes("secret detail")),
        JSON.stringify(logs)
      )
    })
  )

  it.effect("answers a room the runtime cannot reach with 503 ROOM_UNAVAILABLE and Retry-After, logging why", () =>
    Effect.gen(function* () {
      const logs: Array<LogLine> = []
      // A namespace whose object is overloaded: the runtime rejects the stub's fetch.
      const overloaded = {
        newUniqueId: () => ({}),
        idFromName: () => ({}),
        get: () => ({ fetch: () => Promise.reject(new Error("Durable Object is overloaded")) })
      } as unknown as DurableObjectNamespace
      const response = yield* route(upgradeRequest({})).pipe(
        Effect.provide(
          Layer.mergeAll(
            WebSocketService.layerTest(yield* Queue.unbounded<TestPeer>()),
            EchoConfig.layerWith({ backend: "durable-object" }),
            EchoRooms.layer(overloaded),
            testExecutionContext
          )
        ),
        Effect.provide(captureLogs(logs))
      )
      assert.strictEqual(response.status, 503)
      assert.strictEqual(response.headers.get("retry-after"), "1")
      assert.deepStrictEqual(yield* Effect.promise(() => response.json()), {
        error: "The room could not take the connection right now; retry in a moment",
        code: "ROOM_UNAVAILABLE"
      })
      assert.isTrue(
        logs.some((line) => line.level === "WARN" && line.cause.includes("overloaded")),
        JSON.stringify(logs)
      )
    })
  )

  it.effect("answers a room upgrade with 501 ROOMS_UNAVAILABLE where no rooms are provided", () =>
    Effect.gen(function* () {
      const { response } = yield* respond(upgradeRequest({}), { backend: "durable-object" })
      assert.strictEqual(response.status, 501)
      assert.strictEqual(((yield* Effect.promise(() => response.json())) as { code: string }).code, "ROOMS_UNAVAILABLE")
    })
  )

  it.effect("GET / as JSON reports the prefix, limit and subprotocols it was configured with", () =>
    Effect.gen(function* () {
      const settings = { prefix: "> ", maxMessageBytes: 4096, protocols: ["chat"] }
      const { response } = yield* respond(new Request("http://x/"), settings)
      assert.strictEqual(response.status, 200)
      const description = yield* Effect.promise(() => response.json() as Promise<Record<string, unknown>>)
      assert.deepStrictEqual(
        [description.prefix, description.maxMessageBytes, description.protocols],
        ["> ", 4096, ["chat"]]
      )
    })
  )

  it.effect("routes /echo/ as /echo, ignores the query, and answers unknown paths with 404 JSON", () =>
    Effect.gen(function* () {
      for (const url of ["http://x/echo/", "http://x/echo?room=a", "http://x/echo#frag"]) {
        assert.strictEqual((yield* respond(new Request(url))).response.status, 426, url)
      }
      for (const url of ["http://x/echoes", "http://x/echo/deeper", "http://x/nope?/echo"]) {
        const { response } = yield* respond(new Request(url))
        assert.strictEqual(response.status, 404, url)
        assert.strictEqual(
          (yield* Effect.promise(() => response.json() as Promise<{ code: string }>)).code,
          "NOT_FOUND"
        )
      }
    })
  )
})
