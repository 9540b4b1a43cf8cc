import { SELF } from "cloudflare:test"
import * as Socket from "@effect/platform/Socket"
import * as RpcClient from "@effect/rpc/RpcClient"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { describe, expect, it } from "vitest"
import { EchoRpcs } from "websocket-echo"

/** How long a test waits for one event before it fails. */
const TIMEOUT_MS = 5_000

const within = <A>(promise: Promise<A>, what: string): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)
    promise.then(resolve, reject).finally(() => clearTimeout(timer))
  })

/** Upgrades `path` through the Worker and returns the accepted client end. */
const connect = async (path: string): Promise<WebSocket> => {
  const response = await SELF.fetch(`http://example.test${path}`, { headers: { Upgrade: "websocket" } })
  expect(response.status).toBe(101)
  const socket = response.webSocket
  if (socket === null) throw new Error("the 101 has no webSocket")
  socket.binaryType = "arraybuffer"
  socket.accept()
  return socket
}

/** Sends one message and returns the next one the server sends. */
const reply = (socket: WebSocket, message: string | ArrayBuffer): Promise<string | ArrayBuffer> => {
  const next = new Promise<string | ArrayBuffer>((resolve) =>
    socket.addEventListener("message", (event) => resolve(event.data as string | ArrayBuffer), { once: true })
  )
  socket.send(message)
  return within(next, "a message")
}

/** Closes with `code` and returns the code of the server's close frame. */
const close = (socket: WebSocket, code: number): Promise<number> => {
  const closed = new Promise<number>((resolve) =>
    socket.addEventListener("close", (event) => resolve(event.code), { once: true })
  )
  socket.close(code)
  return within(closed, "the close")
}

/** @effect/rpc's client over an accepted socket, closed with 1000 when the client's scope ends. */
const rpcClientOver = (socket: WebSocket) =>
  RpcClient.layerProtocolSocket().pipe(
    Layer.provide(
      Layer.effect(
        Socket.Socket,
        Socket.fromWebSocket(
          Effect.acquireRelease(Effect.succeed(socket), (socket) => Effect.sync(() => socket.close(1000)))
        )
      )
    ),
    Layer.provide(RpcSerialization.layerNdjson)
  )

describe("a Worker built on websocket-echo", () => {
  it("serves its own JSON route", async () => {
    const response = await SELF.fetch("http://example.test/hello")
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ hello: "world" })
  })

  it("serves the echo at /echo with its prefix, and mirrors the close", async () => {
    const socket = await connect("/echo")
    expect(await reply(socket, "hi")).toBe("example: hi")
    expect(await close(socket, 1000)).toBe(1000)
  })

  it("upgrades its own /socket route: text with its prefix, binary unchanged, the close answered", async () => {
    const socket = await connect("/socket")
    expect(await reply(socket, "hi")).toBe("consumer: hi")
    const bytes = await reply(socket, new Uint8Array([0, 1, 254, 255]).buffer)
    expect(bytes).toBeInstanceOf(ArrayBuffer)
    expect(Array.from(new Uint8Array(bytes as ArrayBuffer))).toEqual([0, 1, 254, 255])
    expect(await close(socket, 1000)).toBe(1000)
  })

  it("answers /socket without an upgrade with the package's 426", async () => {
    const response = await SELF.fetch("http://example.test/socket")
    expect(response.status).toBe(426)
    expect(await response.json()).toEqual({
      error: "Expected WebSocket upgrade request (Upgrade: websocket)",
      code: "NOT_WEBSOCKET"
    })
  })

  it("serves EchoRpcs at /rpc to @effect/rpc's client", async () => {
    const socket = await connect("/rpc")
    const calls = Effect.gen(function* () {
      const client = yield* RpcClient.make(EchoRpcs)
      const echoed = yield* client.Echo({ text: "hi" })
      const refused = yield* Effect.flip(client.Echo({ text: "" }))
      const streamed = yield* Stream.runCollect(client.EchoStream({ text: "x", count: 3 }))
      return { echoed, refused: refused._tag, streamed: Chunk.toReadonlyArray(streamed) }
    })
    const result = await Effect.runPromise(
      calls.pipe(Effect.scoped, Effect.provide(rpcClientOver(socket)), Effect.timeout(TIMEOUT_MS))
    )
    expect(result).toEqual({
      echoed: "example: hi",
      refused: "EmptyText",
      streamed: ["example: x 1", "example: x 2", "example: x 3"]
    })
  })
})
