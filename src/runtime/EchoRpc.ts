import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as RpcServer from "@effect/rpc/RpcServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { EchoRpcs, EmptyText } from "../domain/EchoRpcs.js"
import { type HttpError, InvalidParameter } from "../domain/HttpError.js"
import { EchoConfig, type EchoSettings } from "../services/EchoConfig.js"
import type { WebSocketService } from "../services/WebSocketService.js"
import type { ExecutionContext } from "../services/WorkerContext.js"
import { serveWith } from "./FetchHandler.js"

/**
 * The handlers of `EchoRpcs`, with the configured prefix.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as RpcSerialization from "@effect/rpc/RpcSerialization"
 * import * as RpcServer from "@effect/rpc/RpcServer"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { EchoRpcs, EchoRpcsLive } from "websocket-echo/EchoRpcs"
 * import { EchoConfig } from "websocket-echo/EchoServer"
 * import { toFetchHandler } from "websocket-echo/Workers"
 *
 * // The procedures at GET /rpc of a Worker of one's own: one RPC server per connection, with the prefix "> ".
 * const app = HttpRouter.empty.pipe(HttpRouter.get("/rpc", Effect.flatten(RpcServer.toHttpAppWebsocket(EchoRpcs))))
 * const config = EchoConfig.layerWith({ prefix: "> " })
 *
 * export default toFetchHandler(
 *   app,
 *   Layer.mergeAll(config, EchoRpcsLive.pipe(Layer.provide(config)), RpcSerialization.layerJson)
 * )
 * ```
 *
 * @since 2.0.0
 */
export const EchoRpcsLive = EchoRpcs.toLayer(
  Effect.map(EchoConfig, ({ prefix }) =>
    EchoRpcs.of({
      Echo: ({ text }) => (text === "" ? Effect.fail(new EmptyText()) : Effect.succeed(prefix + text)),
      EchoStream: ({ text, count }) => Stream.map(Stream.range(1, count), (i) => `${prefix}${text} ${i}`)
    })
  )
)

/**
 * The wire formats of `/rpc`, by `?serialization=`: @effect/rpc's WebSocket protocol has no negotiation, so the
 * client picks one in the URL. JSON when absent.
 */
const serializations = {
  json: RpcSerialization.layerJson,
  ndjson: RpcSerialization.layerNdjson,
  msgpack: RpcSerialization.layerMsgPack
}

type Serialization = keyof typeof serializations

/**
 * `EchoRpcs` over @effect/rpc's own WebSocket protocol, one server per connection: the server and every fiber
 * it starts belong to the request that opened the socket, and are woken only by that socket's events and
 * timers, so none of them does I/O on behalf of another request (workerd forbids it). It ends with its socket.
 */
const rpcApps = Object.fromEntries(
  Object.entries(serializations).map(([name, serialization]) => [
    name,
    serveWith(
      Effect.flatten(RpcServer.toHttpAppWebsocket(EchoRpcs)).pipe(
        Effect.provide(Layer.merge(serialization, EchoRpcsLive))
      )
    )
  ])
) as Record<Serialization, ReturnType<typeof serveWith<never, EchoConfig>>>

const allowed = `one of ${Object.keys(serializations).join(", ")}`

/**
 * `GET /rpc`: `EchoRpcs` over WebSocket, with the serialization of `?serialization=` (`json`, `ndjson` or
 * `msgpack`; 400 `INVALID_PARAMETER` for any other value, before the upgrade). Its frames pass the same
 * checks and limits as the echo's (`settings`), and each socket's end is logged as the echo's is.
 */
export const rpcResponse = (
  request: Request,
  settings: EchoSettings
): Effect.Effect<Response, HttpError, WebSocketService | ExecutionContext> => {
  const value = request.url.includes("serialization=")
    ? (new URL(request.url).searchParams.get("serialization") ?? "json")
    : "json"
  const serve = Object.hasOwn(serializations, value) ? rpcApps[value as Serialization] : undefined
  return serve === undefined
    ? Effect.fail(new InvalidParameter({ name: "serialization", value, allowed }))
    : Effect.provideService(serve(request, { ...settings, log: true }), EchoConfig, settings)
}
