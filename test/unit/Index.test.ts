import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { App } from "../../src/runtime/App.js"
import { EchoConfig } from "../../src/services/EchoConfig.js"
import { type TestPeer, WebSocketService } from "../../src/services/WebSocketService.js"

describe("GET / as JSON, on Node", () => {
  it.effect("reports the prefix and limit the app was configured with", () =>
    Effect.gen(function* () {
      const peers = yield* Queue.unbounded<TestPeer>()
      const response = yield* App.pipe(
        Effect.catchAll(HttpServerRespondable.toResponse),
        Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(new Request("http://x/"))),
        Effect.provide(EchoConfig.layerWith({ prefix: "> ", maxMessageBytes: 4096 })),
        Effect.provide(WebSocketService.layerTest(peers)),
        Effect.scoped
      )
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.body._tag, "Uint8Array")
      if (response.body._tag !== "Uint8Array") return
      const description = JSON.parse(new TextDecoder().decode(response.body.body))
      assert.deepStrictEqual([description.prefix, description.maxMessageBytes], ["> ", 4096])
    })
  )
})
