import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { describe, expect, it } from "vitest"
import { NotWebSocket } from "../../src/domain/HttpError.js"
import { EchoRouter } from "../../src/runtime/EchoRouter.js"
import { toFetchHandler } from "../../src/runtime/FetchHandler.js"
import { EchoConfig } from "../../src/services/EchoConfig.js"
import { Client } from "./socket.js"

// An app that mounts the echo, as a user's Worker does: no rooms, its own routes, and one that fails with our error.
const router = HttpRouter.empty.pipe(
  HttpRouter.get("/status", HttpServerResponse.unsafeJson({ ok: true })),
  HttpRouter.get("/only-sockets", Effect.fail(new NotWebSocket())),
  HttpRouter.get(
    "/raw",
    Effect.gen(function* () {
      const socket = yield* HttpServerRequest.upgrade
      const write = yield* socket.writer
      yield* socket.runRaw((data) => write(data))
      return HttpServerResponse.empty()
    })
  ),
  HttpRouter.concat(EchoRouter)
)

const quiet = Logger.minimumLogLevel(LogLevel.Warning)

const workerWith = (settings: Parameters<typeof EchoConfig.layerWith>[0]) => {
  const worker = toFetchHandler(router, Layer.merge(EchoConfig.layerWith(settings), quiet))
  return async (path: string, headers: Record<string, string> = {}) => {
    const ctx = createExecutionContext()
    const response = await worker.fetch(new Request(`http://app.test${path}`, { headers }), env, ctx)
    return { response, done: waitOnExecutionContext(ctx) }
  }
}

const fetchApp = workerWith({ prefix: "mounted> ", pipeline: "stream" })

const upgrade = async (path: string) => {
  const { response, done } = await fetchApp(path, { Upgrade: "websocket" })
  expect(response.status).toBe(101)
  return { client: new Client(response.webSocket as WebSocket), done }
}

describe("embedding the echo in a larger Effect app, under toFetchHandler", () => {
  it("serves the app's own route next to the echo", async () => {
    const { response } = await fetchApp("/status")
    expect(await response.json()).toEqual({ ok: true })
  })

  it("echoes through the mounted router with the app's own configuration", async () => {
    const { client } = await upgrade("/echo")
    client.socket.send("hi")
    expect(await client.next()).toBe("mounted> hi")
    expect(await client.close(4100, "app done")).toEqual({ code: 4100, reason: "app done", wasClean: true })
  })

  it("keeps a stream-pipeline socket's request alive past the 101, until the socket has ended", async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => upgrade("/echo")))
    let ended = 0
    for (const { done } of sockets) done.then(() => ended++)
    for (const [i, { client }] of sockets.entries()) client.socket.send(`m${i}`)
    await Promise.all(sockets.map(({ client }) => client.next()))
    expect(ended).toBe(0)
    for (const [i, { client }] of sockets.entries()) {
      client.socket.send(`again ${i}`)
      expect(await client.next()).toBe(`mounted> again ${i}`)
    }
    await Promise.all(sockets.map(({ client }) => client.close(1000)))
    await Promise.all(sockets.map(({ done }) => done))
    expect(ended).toBe(20)
  })

  it("answers a room upgrade without rooms with 501 ROOMS_UNAVAILABLE, never a 500", async () => {
    const app = workerWith({ testBehaviours: true })
    for (const query of ["?room=a&broadcast=true", "?room=b&broadcast=true&delay_ms=5"]) {
      const { response } = await app(`/echo${query}`, { Upgrade: "websocket" })
      expect(response.status, query).toBe(501)
      expect(response.headers.get("content-type")).toBe("application/json")
      expect(await response.json()).toEqual({
        error: "This server has no rooms: provide EchoRooms.layer with a Durable Object namespace bound to EchoRoom",
        code: "ROOMS_UNAVAILABLE"
      })
    }
    const backend = workerWith({ backend: "durable-object" })
    const { response } = await backend("/echo", { Upgrade: "websocket" })
    expect(response.status).toBe(501)
  })

  it("answers a tap with 501 TAPS_UNAVAILABLE: taps are the Worker's, not the package's", async () => {
    const app = workerWith({ testBehaviours: true })
    const { response } = await app("/echo?tap=device-under-test", { Upgrade: "websocket" })
    expect(response.status).toBe(501)
    expect(((await response.json()) as { code: string }).code).toBe("TAPS_UNAVAILABLE")
  })

  it("offers no behaviours unless the app turns them on: close_code is an unknown parameter", async () => {
    const { response } = await fetchApp("/echo?close_code=4001", { Upgrade: "websocket" })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { code: string }).code).toBe("UNKNOWN_PARAMETER")
  })

  it("renders a route's own NotWebSocket as the 426 JSON, with no errorResponse in the app", async () => {
    const { response } = await fetchApp("/only-sockets")
    expect(response.status).toBe(426)
    expect(response.headers.get("upgrade")).toBe("websocket")
    expect(await response.json()).toEqual({
      error: "Expected WebSocket upgrade request (Upgrade: websocket)",
      code: "NOT_WEBSOCKET"
    })
  })

  it("adds none of the echo's policy to the app's own socket: a 2 MiB message comes back whole", async () => {
    const { client } = await upgrade("/raw")
    const big = new Uint8Array(2 * 1024 * 1024).map((_, i) => i % 251)
    client.socket.send(big)
    const echoed = new Uint8Array((await client.next()) as ArrayBuffer)
    expect(echoed.length).toBe(big.length)
    expect(echoed.every((byte, i) => byte === big[i])).toBe(true)
    expect(await client.close(1000)).toEqual({ code: 1000, reason: "", wasClean: true })
  })
})
