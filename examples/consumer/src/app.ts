import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as RpcServer from "@effect/rpc/RpcServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { EchoRooms } from "websocket-echo/EchoRooms"
import { EchoRpcs, EchoRpcsLive } from "websocket-echo/EchoRpcs"
import { EchoConfig, EchoRouter, type EchoSettings } from "websocket-echo/EchoServer"
import { NotWebSocket } from "websocket-echo/HttpError"
import { toFetchHandler, WorkerEnv } from "websocket-echo/Workers"

/**
 * A socket of this app's own, with no policy but the runtime's: text comes back with "consumer: " in front,
 * binary unchanged, for as long as the client keeps it open, whatever the size of a message up to 32 MiB.
 */
const socket = Effect.gen(function* () {
  const socket = yield* HttpServerRequest.upgrade
  const write = yield* socket.writer
  yield* socket.runRaw((data) => write(typeof data === "string" ? `consumer: ${data}` : data))
  return HttpServerResponse.empty()
})

/**
 * The same socket, for clients that must not be answered with anything else: the route checks the request
 * itself and fails with the package's `NotWebSocket`, which renders itself as its 426 JSON.
 */
const live = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  if (request.headers.upgrade?.toLowerCase() !== "websocket") return yield* Effect.fail(new NotWebSocket())
  return yield* socket
})

/** The app: routes of its own, @effect/rpc's WebSocket server for `EchoRpcs`, and the echo at `/echo`. */
const app = HttpRouter.empty.pipe(
  HttpRouter.get("/hello", HttpServerResponse.unsafeJson({ hello: "world" })),
  HttpRouter.get("/socket", socket),
  HttpRouter.get("/live", live),
  // One RPC server per connection, for as long as its socket is open.
  HttpRouter.get("/rpc", Effect.flatten(RpcServer.toHttpAppWebsocket(EchoRpcs))),
  HttpRouter.concat(EchoRouter)
)

/** A second app: the echo at `/rooms/echo`, whose sockets live in the package's rooms (a Durable Object). */
const roomsApp = EchoRouter.pipe(HttpRouter.prefixAll("/rooms"))

/** The rooms of the `ROOMS` binding (wrangler.toml): the namespace comes from the Worker's env. */
const rooms = Layer.unwrapEffect(Effect.map(WorkerEnv, (env) => EchoRooms.layer(env.ROOMS)))

/**
 * The Worker: `/rooms/…` is served by the app with rooms, everything else by the app without them, where a room
 * upgrade gets the package's 501 `ROOMS_UNAVAILABLE`. `settings` are the echo's (`EchoConfig`); every log line is
 * JSON. Each app is a `toFetchHandler` of its own, with its services built once per isolate.
 */
export const makeWorker = (settings: Partial<EchoSettings>): ExportedHandler<Env> => {
  const config = EchoConfig.layerWith(settings)
  const plain = toFetchHandler(
    app,
    Layer.mergeAll(config, EchoRpcsLive.pipe(Layer.provide(config)), RpcSerialization.layerNdjson, Logger.json)
  )
  const withRooms = toFetchHandler(
    roomsApp,
    Layer.mergeAll(
      EchoConfig.layerWith({ ...settings, backend: "durable-object", testBehaviours: true }),
      rooms,
      Logger.json
    )
  )
  return {
    fetch: (request, env, ctx) =>
      (new URL(request.url).pathname.startsWith("/rooms/") ? withRooms : plain).fetch(request, env, ctx)
  }
}
