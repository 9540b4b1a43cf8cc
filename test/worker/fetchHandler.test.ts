import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Socket from "@effect/platform/Socket"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Stream from "effect/Stream"
import { describe, expect, it, vi } from "vitest"
import { type FetchHandlerOptions, toFetchHandler, UpgradeRefused, WorkerEnv } from "../../src/Workers.js"
import { bytesOf, Client, TIMEOUT_MS, within } from "./socket.js"

/** The echo as @effect/platform users write it, answering text with `socket: ` in front and binary as it came. */
const socketEcho = (socket: Socket.Socket) =>
  Effect.gen(function* () {
    const write = yield* socket.writer
    yield* socket.runRaw((data) => write(typeof data === "string" ? `socket: ${data}` : data))
  })

const echoRoute = Effect.gen(function* () {
  yield* socketEcho(yield* HttpServerRequest.upgrade)
  return HttpServerResponse.text("the route's own response, after its socket closed")
})

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/socket", echoRoute),
  HttpRouter.mount("/api", HttpRouter.empty.pipe(HttpRouter.get("/socket", echoRoute))),
  HttpRouter.concat(HttpRouter.empty.pipe(HttpRouter.get("/concat/socket", echoRoute))),
  // Tells what each frame reached the handler as.
  HttpRouter.get(
    "/kinds",
    Effect.gen(function* () {
      const socket = yield* HttpServerRequest.upgrade
      const write = yield* socket.writer
      yield* socket.runRaw((data) => write(typeof data === "string" ? "string" : data.constructor.name))
      return HttpServerResponse.empty()
    })
  ),
  // Starts reading only a while after the 101: the frames sent meanwhile must be kept, in order.
  HttpRouter.get(
    "/late",
    Effect.gen(function* () {
      const socket = yield* HttpServerRequest.upgrade
      yield* Effect.sleep("100 millis")
      yield* socketEcho(socket)
      return HttpServerResponse.empty()
    })
  ),
  HttpRouter.get(
    "/twice",
    Effect.gen(function* () {
      const first = yield* HttpServerRequest.upgrade
      const second = yield* HttpServerRequest.upgrade
      const write = yield* first.writer
      yield* write(first === second ? "one socket" : "two sockets")
      yield* socketEcho(second)
      return HttpServerResponse.empty()
    })
  ),
  // Upgrades when asked to, and otherwise answers with the reason it could not.
  HttpRouter.get(
    "/optional",
    HttpServerRequest.upgrade.pipe(
      Effect.flatMap(socketEcho),
      Effect.as(HttpServerResponse.empty()),
      Effect.catchTag("RequestError", (error) =>
        HttpServerResponse.json({
          refused: error.message,
          code: error instanceof UpgradeRefused ? error.error.code : null
        })
      )
    )
  ),
  // Upgrade and leave, or fail, without reading the socket.
  HttpRouter.get("/unread", Effect.as(HttpServerRequest.upgrade, HttpServerResponse.empty())),
  HttpRouter.get("/fails", Effect.zipRight(HttpServerRequest.upgrade, Effect.die(new Error("route failed")))),
  // @effect/platform's channel form: one greeting out, then the first frame in ends the route.
  HttpRouter.get(
    "/channel",
    Stream.make("greeting").pipe(
      Stream.concat(Stream.never),
      Stream.pipeThroughChannel(HttpServerRequest.upgradeChannel()),
      Stream.take(1),
      Stream.runDrain,
      Effect.as(HttpServerResponse.empty())
    )
  )
)

const quiet = Logger.minimumLogLevel(LogLevel.Warning)

/** `app` under the stock middlewares, as a Worker with `options`, called the way workerd calls a module's fetch. */
const workerWith = (options?: FetchHandlerOptions) => {
  const worker = toFetchHandler(HttpMiddleware.logger(HttpMiddleware.xForwardedHeaders(app)), quiet, options)
  return async (path: string, headers: Record<string, string> = {}, method = "GET") => {
    const ctx = createExecutionContext()
    const response = await worker.fetch(
      new Request(`http://app.test${path}`, { method, headers: { "x-forwarded-for": "203.0.113.9", ...headers } }),
      env,
      ctx
    )
    return { response, done: waitOnExecutionContext(ctx) }
  }
}

const worker = workerWith({ protocols: ["chat"], maxMessageBytes: 16, allowedOrigins: ["https://app.example"] })

/** Upgrades `path` and returns the accepted client end, with the promise of the request's end. */
const open = async (path: string, headers: Record<string, string> = {}) => {
  const { response, done } = await worker(path, { Upgrade: "websocket", ...headers })
  expect(response.status).toBe(101)
  return { client: new Client(response.webSocket as WebSocket), response, done }
}

const NOT_WEBSOCKET = { error: "Expected WebSocket upgrade request (Upgrade: websocket)", code: "NOT_WEBSOCKET" }

describe("HttpServerRequest.upgrade under toFetchHandler", () => {
  it.each(["/socket", "/api/socket", "/concat/socket"])(
    "upgrades in a route at %s (plain, mounted, concatenated; under logger and xForwardedHeaders)",
    async (path) => {
      const { client } = await open(path)
      client.socket.send("hi")
      expect(await client.next()).toBe("socket: hi")
      client.socket.send(new Uint8Array([0, 255, 7]))
      expect(bytesOf(await client.next())).toEqual([0, 255, 7])
      expect(await client.close(4000, "done")).toEqual({ code: 4000, reason: "done", wasClean: true })
    }
  )

  it("sends the 101 from inside upgrade, and keeps the request alive until the route ends after its socket", async () => {
    const { client, done } = await open("/socket")
    let ended = false
    void done.then(() => (ended = true))
    client.socket.send("still open")
    expect(await client.next()).toBe("socket: still open")
    expect(ended).toBe(false)
    await client.close(1000)
    await within(done, "the end of the request")
  })

  it("hands binary frames to the handler as Uint8Array, text as string", async () => {
    const { client } = await open("/kinds")
    client.socket.send(new Uint8Array([1]))
    client.socket.send("a")
    expect([await client.next(), await client.next()]).toEqual(["Uint8Array", "string"])
  })

  it("keeps the frames that arrive before the route reads, in order", async () => {
    const { client } = await open("/late")
    for (const text of ["one", "two", "three"]) client.socket.send(text)
    expect([await client.next(), await client.next(), await client.next()]).toEqual([
      "socket: one",
      "socket: two",
      "socket: three"
    ])
  })

  it("returns the same socket when a route upgrades twice", async () => {
    const { client } = await open("/twice")
    expect(await client.next()).toBe("one socket")
    client.socket.send("x")
    expect(await client.next()).toBe("socket: x")
  })

  it("works in @effect/platform's channel form, and closes with 1001 when the route stops reading", async () => {
    const { client } = await open("/channel")
    expect(await client.next()).toBe("greeting")
    client.socket.send("enough")
    expect(await client.whenClosed()).toEqual({ code: 1001, reason: "going away", wasClean: true })
  })

  it.each(["/unread", "/fails"])(
    "closes with 1001 a socket that %s leaves unread when the route ends",
    async (path) => {
      const { client, done } = await open(path)
      expect(await client.whenClosed()).toEqual({ code: 1001, reason: "going away", wasClean: true })
      await within(done, "the end of the request")
    }
  )

  it("fails upgrade on a plain GET with our NotWebSocket, rendered as the 426 JSON, and HEAD without a body", async () => {
    const { response } = await worker("/socket")
    expect(response.status).toBe(426)
    expect(response.headers.get("content-type")).toBe("application/json")
    expect(await response.json()).toEqual(NOT_WEBSOCKET)
    const head = await worker("/socket", {}, "HEAD")
    expect(head.response.status).toBe(426)
    expect(await head.response.text()).toBe("")
  })

  it("lets a route handle the refusal as a RequestError that names our error", async () => {
    const { response } = await worker("/optional")
    expect(await response.json()).toEqual({
      refused: "Decode: Expected WebSocket upgrade request (Upgrade: websocket) (GET /optional)",
      code: "NOT_WEBSOCKET"
    })
    const { client } = await open("/optional")
    client.socket.send("yes")
    expect(await client.next()).toBe("socket: yes")
  })

  it("applies the Origin rule, the subprotocol choice and the size limit of its options", async () => {
    const evil = await worker("/socket", { Upgrade: "websocket", Origin: "https://evil.example" })
    expect(evil.response.status).toBe(403)
    expect(await evil.response.json()).toEqual({
      error: 'Origin "https://evil.example" is not allowed',
      code: "ORIGIN_NOT_ALLOWED"
    })
    const unspoken = await worker("/socket", { Upgrade: "websocket", "Sec-WebSocket-Protocol": "mqtt" })
    expect(unspoken.response.status).toBe(400)
    expect(((await unspoken.response.json()) as { code: string }).code).toBe("SUBPROTOCOL_NOT_SUPPORTED")
    const { client, response } = await open("/socket", {
      Origin: "https://app.example",
      "Sec-WebSocket-Protocol": "mqtt, chat"
    })
    expect(response.headers.get("sec-websocket-protocol")).toBe("chat")
    client.socket.send("0123456789abcdef")
    expect(await client.next()).toBe("socket: 0123456789abcdef")
    client.socket.send("0123456789abcdefg")
    expect(await client.whenClosed()).toEqual({ code: 1009, reason: "message too big", wasClean: true })
  })

  it("closes a socket idle for its idle timeout with 1001", async () => {
    const idle = workerWith({ idleTimeoutSeconds: 1 })
    const { response } = await idle("/socket", { Upgrade: "websocket" })
    const client = new Client(response.webSocket as WebSocket)
    expect(await client.whenClosed()).toEqual({ code: 1001, reason: "idle timeout", wasClean: true })
  })

  it.each([
    ["the Worker's /echo through SELF.fetch", "self"],
    ["a Socket route under toFetchHandler", "socket"]
  ])("talks to %s with @effect/platform's own Socket client code", async (_, target) => {
    const response =
      target === "self"
        ? await SELF.fetch("http://echo.test/echo", { headers: { Upgrade: "websocket" } })
        : (await worker("/socket", { Upgrade: "websocket" })).response
    const ws = response.webSocket as WebSocket
    ws.accept()
    const received = await Effect.gen(function* () {
      const socket = yield* Socket.fromWebSocket(Effect.succeed(ws))
      const write = yield* socket.writer
      const echoed = yield* Deferred.make<string>()
      // @effect/platform's writer waits for the run to open the socket.
      const run = socket.runRaw(
        (data) => Deferred.succeed(echoed, typeof data === "string" ? data : new TextDecoder().decode(data)),
        { onOpen: Effect.orDie(write("hello")) }
      )
      return yield* Effect.raceFirst(Deferred.await(echoed), Effect.zipRight(run, Effect.never))
    }).pipe(Effect.scoped, Effect.timeout(TIMEOUT_MS), Effect.runPromise)
    expect(received).toBe(target === "self" ? "echo: hello" : "socket: hello")
    // The close handshake outside the Socket client: an in-process client end may see workerd's "Network
    // connection lost" error event as its server's request ends, which fails a Socket run that is still reading.
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (event) => resolve(event.code)))
    ws.close(1000, "thanks")
    expect(await within(closed, "the close")).toBe(1000)
  })

  it("answers the app's other routes as toWebHandler would", async () => {
    const { response } = await worker("/nowhere")
    expect(response.status).toBe(404)
  })
})

describe("toFetchHandler's layer", () => {
  class Greeting extends Context.Tag("test/Greeting")<Greeting, string>() {}
  const greet = HttpRouter.empty.pipe(
    HttpRouter.get(
      "/",
      Effect.map(Greeting, (greeting) => HttpServerResponse.text(greeting))
    )
  )
  const call = (handler: ReturnType<typeof toFetchHandler>, bindings: unknown = env) =>
    handler.fetch(new Request("http://app.test/"), bindings, createExecutionContext())

  it("is built once, with the Worker's env as WorkerEnv", async () => {
    let builds = 0
    const layer = Layer.effect(
      Greeting,
      Effect.map(WorkerEnv, (workerEnv) => {
        builds++
        return `hello from ${(workerEnv as { ECHO_PREFIX?: string }).ECHO_PREFIX}`
      })
    )
    const handler = toFetchHandler(greet, layer)
    for (let i = 0; i < 3; i++) expect(await (await call(handler)).text()).toBe(`hello from ${env.ECHO_PREFIX}`)
    expect(builds).toBe(1)
  })

  it("answers every request with the JSON 500 while it fails to build, and logs the failure once", async () => {
    const lines: Array<string> = []
    const spy = vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
      lines.push(args.map(String).join(" "))
    })
    try {
      const handler = toFetchHandler(greet, Layer.fail("no database"))
      for (let i = 0; i < 3; i++) {
        const response = await call(handler)
        expect(response.status).toBe(500)
        expect(await response.json()).toEqual({ error: "Internal server error", code: "INTERNAL_ERROR" })
      }
    } finally {
      spy.mockRestore()
    }
    const failures = lines.filter((line) => line.includes("the layer failed to build"))
    expect(failures).toHaveLength(1)
    expect(failures[0]).toContain("no database")
  })
})
