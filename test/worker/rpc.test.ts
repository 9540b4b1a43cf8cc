import { SELF } from "cloudflare:test"
import * as Socket from "@effect/platform/Socket"
import * as RpcClient from "@effect/rpc/RpcClient"
import type { RpcClientError } from "@effect/rpc/RpcClientError"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { describe, expect, it } from "vitest"
import { EchoRpcs } from "../../src/EchoRpcs.js"
import { Client, connect, serviceWith, TIMEOUT_MS } from "./socket.js"

const serializations = {
  json: RpcSerialization.layerJson,
  ndjson: RpcSerialization.layerNdjson,
  msgpack: RpcSerialization.layerMsgPack
}

/** Runs `use` with an @effect/rpc client of `EchoRpcs` over a socket upgraded at `/rpc?serialization=…`. */
const withClient = <A, E>(
  serialization: keyof typeof serializations,
  use: (client: RpcClient.FromGroup<typeof EchoRpcs, RpcClientError>) => Effect.Effect<A, E>
): Promise<A> =>
  Effect.gen(function* () {
    const response = yield* Effect.promise(() =>
      SELF.fetch(`http://echo.test/rpc?serialization=${serialization}`, { headers: { Upgrade: "websocket" } })
    )
    expect(response.status).toBe(101)
    const ws = response.webSocket as WebSocket
    ws.accept()
    const protocol = RpcClient.layerProtocolSocket().pipe(
      Layer.provide(Layer.effect(Socket.Socket, Socket.fromWebSocket(Effect.succeed(ws)))),
      Layer.provide(serializations[serialization])
    )
    const result = yield* Effect.flatMap(RpcClient.make(EchoRpcs), use).pipe(Effect.provide(protocol))
    ws.close(1000)
    return result
  }).pipe(Effect.scoped, Effect.timeout(TIMEOUT_MS), Effect.runPromise)

describe.each(Object.keys(serializations) as Array<keyof typeof serializations>)(
  "EchoRpcs at GET /rpc?serialization=%s, with @effect/rpc's own client",
  (serialization) => {
    it("echoes with the prefix, fails EmptyText as a typed error, and streams EchoStream in order", async () => {
      const [echoed, empty, streamed] = await withClient(serialization, (client) =>
        Effect.all([
          client.Echo({ text: "hello" }),
          Effect.either(client.Echo({ text: "" })),
          Stream.runCollect(client.EchoStream({ text: "x", count: 3 }))
        ])
      )
      expect(echoed).toBe("echo: hello")
      expect(Either.isLeft(empty) && empty.left._tag).toBe("EmptyText")
      expect(Chunk.toArray(streamed)).toEqual(["echo: x 1", "echo: x 2", "echo: x 3"])
    })
  }
)

describe("GET /rpc", () => {
  it("serves two clients at once, each only its own answers (one server per connection)", async () => {
    const run = (name: string) =>
      withClient("json", (client) =>
        Effect.all(
          Array.from({ length: 20 }, (_, i) => client.Echo({ text: `${name} ${i}` })),
          { concurrency: "unbounded" }
        )
      )
    const [a, b] = await Promise.all([run("a"), run("b")])
    expect(a).toEqual(Array.from({ length: 20 }, (_, i) => `echo: a ${i}`))
    expect(b).toEqual(Array.from({ length: 20 }, (_, i) => `echo: b ${i}`))
  })

  it("answers a payload that fails its schema, and an unknown procedure, with a defect, and stays usable", async () => {
    const client = await connect("/rpc")
    const request = (id: string, tag: string, payload: unknown) =>
      client.socket.send(JSON.stringify({ _tag: "Request", id, tag, payload, headers: [] }))
    request("1", "EchoStream", { text: "x", count: 1001 })
    expect(JSON.parse(String(await client.next()))).toMatchObject({
      _tag: "Exit",
      requestId: "1",
      exit: { _tag: "Failure", cause: { _tag: "Die" } }
    })
    request("2", "NoSuchProcedure", {})
    expect(JSON.parse(String(await client.next()))).toMatchObject({ _tag: "Defect" })
    request("3", "Echo", { text: "still here" })
    expect(JSON.parse(String(await client.next()))).toMatchObject({
      exit: { _tag: "Success", value: "echo: still here" }
    })
  })

  it("answers a malformed frame with @effect/rpc's defect and keeps the socket open; closes with 1009 over the size limit", async () => {
    const client = await connect("/rpc")
    client.socket.send("this is not json")
    expect(JSON.parse(String(await client.next()))).toMatchObject({ _tag: "Defect", defect: { name: "SyntaxError" } })
    client.socket.send(JSON.stringify({ _tag: "Request", id: "1", tag: "Echo", payload: { text: "raw" }, headers: [] }))
    expect(JSON.parse(String(await client.next()))).toEqual({
      _tag: "Exit",
      requestId: "1",
      exit: { _tag: "Success", value: "echo: raw" }
    })
    client.socket.send("x".repeat(1_048_577))
    expect(await client.whenClosed()).toEqual({ code: 1009, reason: "message too big", wasClean: true })
  })

  it("refuses an unknown serialization with 400 INVALID_PARAMETER before the upgrade, and a plain GET with 426", async () => {
    const refused = await SELF.fetch("http://echo.test/rpc?serialization=xml", { headers: { Upgrade: "websocket" } })
    expect(refused.status).toBe(400)
    expect(refused.webSocket).toBeNull()
    expect(await refused.json()).toEqual({
      error: 'serialization must be one of json, ndjson, msgpack, got "xml"',
      code: "INVALID_PARAMETER"
    })
    const plain = await SELF.fetch("http://echo.test/rpc")
    expect(plain.status).toBe(426)
    expect(await plain.json()).toEqual({
      error: "Expected WebSocket upgrade request (Upgrade: websocket)",
      code: "NOT_WEBSOCKET"
    })
  })

  it("holds the rate limit for RPC frames as for echoes: 1008 over MAX_MESSAGES_PER_SECOND", async () => {
    const handler = serviceWith({ maxMessagesPerSecond: 2 })
    const response = await handler(new Request("http://echo.test/rpc", { headers: { Upgrade: "websocket" } }))
    expect(response.status).toBe(101)
    const client = new Client(response.webSocket as WebSocket)
    for (let i = 0; i < 3; i++) client.socket.send(JSON.stringify({ _tag: "Ping" }))
    expect(await client.whenClosed()).toEqual({ code: 1008, reason: "rate limit", wasClean: true })
  })

  it("mirrors a client's close on an idle RPC socket", async () => {
    const client = await connect("/rpc")
    expect(await client.close(4000, "done")).toEqual({ code: 4000, reason: "done", wasClean: true })
  })
})
