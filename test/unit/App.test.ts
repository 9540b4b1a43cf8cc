import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Queue from "effect/Queue"
import { App } from "../../src/runtime/App.js"
import { EchoConfig } from "../../src/services/EchoConfig.js"
import { type TestPeer, WebSocketService } from "../../src/services/WebSocketService.js"

/** Runs the app on one request, turning its typed errors into their responses as the HTTP server does. */
const respond = (request: Request) =>
  App.pipe(
    Effect.catchAll(HttpServerRespondable.toResponse),
    Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(request)),
    Effect.provide(EchoConfig.layerWith()),
    Effect.scoped
  )

const body = (response: HttpServerResponse.HttpServerResponse) =>
  response.body._tag === "Uint8Array" ? new TextDecoder().decode(response.body.body) : response.body._tag

describe("App, on Node with the in-memory WebSocketService", () => {
  it.effect("upgrades GET /echo whatever the case of the Upgrade token, and hands the socket to the echo", () =>
    Effect.gen(function* () {
      const peers = yield* Queue.unbounded<TestPeer>()
      for (const upgrade of ["websocket", "WebSocket", "h2c, WEBSOCKET"]) {
        const request = new Request("http://echo.test/echo", { headers: { upgrade } })
        const response = yield* respond(request).pipe(Effect.provide(WebSocketService.layerTest(peers)))
        assert.strictEqual(response.status, 101, upgrade)
        const peer = yield* Queue.take(peers)
        yield* peer.send(upgrade)
        assert.deepStrictEqual(yield* peer.receive, { _tag: "Message", message: `echo: ${upgrade}` })
      }
    })
  )

  it.effect("answers a defect with a logged 500 that tells the client nothing of it", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const failing = Layer.succeed(WebSocketService, { upgrade: () => Effect.die(new Error("secret detail")) })
      const request = new Request("http://echo.test/echo", { headers: { upgrade: "websocket" } })
      const response = yield* respond(request).pipe(
        Effect.provide(failing),
        Effect.provide(
          Logger.replace(
            Logger.defaultLogger,
            Logger.make(({ cause }) => logs.push(String(cause)))
          )
        )
      )
      assert.strictEqual(response.status, 500)
      assert.strictEqual(body(response), '{"error":"Internal server error","code":"INTERNAL_ERROR"}')
      assert.isTrue(
        logs.some((line) => line.includes("secret detail")),
        logs.join("\n")
      )
    })
  )
})
