import * as Socket from "@effect/platform/Socket"
import * as RpcClient from "@effect/rpc/RpcClient"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { describe, expect, it } from "vitest"
import { EchoRpcs } from "websocket-echo/EchoRpcs"
import { connect, TIMEOUT_MS } from "./support.js"

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

describe("EchoRpcs at /rpc, served by @effect/rpc's WebSocket server on the package's upgrade", () => {
  it("answers @effect/rpc's client: a call, a typed failure and a stream, with the app's prefix", async () => {
    const client = await connect("/rpc")
    const calls = Effect.gen(function* () {
      const rpc = yield* RpcClient.make(EchoRpcs)
      const echoed = yield* rpc.Echo({ text: "hi" })
      const refused = yield* Effect.flip(rpc.Echo({ text: "" }))
      const streamed = yield* Stream.runCollect(rpc.EchoStream({ text: "x", count: 3 }))
      return { echoed, refused: refused._tag, streamed: Chunk.toReadonlyArray(streamed) }
    })
    const result = await Effect.runPromise(
      calls.pipe(Effect.scoped, Effect.provide(rpcClientOver(client.socket)), Effect.timeout(TIMEOUT_MS))
    )
    expect(result).toEqual({
      echoed: "example: hi",
      refused: "EmptyText",
      streamed: ["example: x 1", "example: x 2", "example: x 3"]
    })
    // The client's scope closed the socket with 1000; the server answered it.
    expect(await client.whenClosed()).toEqual({ code: 1000, reason: "", wasClean: true })
  })
})
