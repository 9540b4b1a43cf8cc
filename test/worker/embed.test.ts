import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { describe, expect, it } from "vitest"
import { EchoConfig, EchoRouter, WebSocketService } from "../../src/index.js"
import { Client } from "./socket.js"

describe("embedding the echo in a larger Effect app", () => {
  const router = HttpRouter.empty.pipe(
    HttpRouter.get("/status", HttpServerResponse.unsafeJson({ ok: true })),
    HttpRouter.concat(EchoRouter)
  )
  const { handler } = HttpApp.toWebHandlerLayer(
    router,
    Layer.mergeAll(
      WebSocketService.layer,
      EchoConfig.layerWith({ prefix: "mounted> " }),
      Logger.minimumLogLevel(LogLevel.Warning)
    )
  )

  it("serves the app's own route next to the echo", async () => {
    const response = await handler(new Request("http://app.test/status"))
    expect(await response.json()).toEqual({ ok: true })
  })

  it("echoes through the mounted router with the app's own configuration", async () => {
    const response = await handler(new Request("http://app.test/echo", { headers: { Upgrade: "websocket" } }))
    expect(response.status).toBe(101)
    const client = new Client(response.webSocket as WebSocket)
    client.socket.send("hi")
    expect(await client.next()).toBe("mounted> hi")
    expect(await client.close(4100, "app done")).toEqual({ code: 4100, reason: "app done", wasClean: true })
  })
})
