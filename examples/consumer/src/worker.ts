import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as RpcServer from "@effect/rpc/RpcServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { EchoConfig, EchoRouter, EchoRpcs, EchoRpcsLive, toFetchHandler } from "websocket-echo"

/** A socket of this app's own: text comes back with "consumer: " in front, binary unchanged. */
const socket = Effect.gen(function* () {
  const socket = yield* HttpServerRequest.upgrade
  const write = yield* socket.writer
  yield* socket.runRaw((data) => write(typeof data === "string" ? `consumer: ${data}` : data))
  return HttpServerResponse.empty()
})

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/hello", HttpServerResponse.unsafeJson({ hello: "world" })),
  HttpRouter.get("/socket", socket),
  // One RPC server per connection, for as long as its socket is open.
  HttpRouter.get("/rpc", Effect.flatten(RpcServer.toHttpAppWebsocket(EchoRpcs))),
  HttpRouter.concat(EchoRouter)
)

const config = EchoConfig.layerWith({ prefix: "example: " })

export default toFetchHandler(
  app,
  Layer.mergeAll(config, EchoRpcsLive.pipe(Layer.provide(config)), RpcSerialization.layerNdjson)
) satisfies ExportedHandler
