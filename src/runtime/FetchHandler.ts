import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Socket from "@effect/platform/Socket"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { errorBody, errorResponse, type HttpError, InternalError } from "../domain/HttpError.js"
import { PLATFORM_MAX_MESSAGE_BYTES } from "../services/EchoConfig.js"
import { type Connection, WebSocketService } from "../services/WebSocketService.js"
import { ExecutionContext, WorkerEnv } from "../services/WorkerContext.js"
import { type SocketOptions, toSocket } from "./ConnectionSocket.js"
import { superviseExit } from "./Echo.js"
import { checkHandshake, type UpgradeSettings, upgradeOptions } from "./Handshake.js"

/**
 * How `HttpServerRequest.upgrade` fails under `toFetchHandler`: a `RequestError`, as @effect/platform types
 * it, whose `error` (also its `cause`) is the `HttpError` of the check that refused the handshake, such as
 * `NotWebSocket`. Left unhandled, it renders as that error's own JSON response (426 for `NotWebSocket`).
 *
 * @example
 * ```ts
 * import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
 * import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
 * import * as Effect from "effect/Effect"
 * import { UpgradeRefused } from "websocket-echo/Workers"
 *
 * // A plain GET to this socket route gets a page of its own instead of the 426 JSON.
 * export const live = Effect.gen(function* () {
 *   const socket = yield* HttpServerRequest.upgrade
 *   const write = yield* socket.writer
 *   yield* socket.runRaw((data) => write(data))
 *   return HttpServerResponse.empty()
 * }).pipe(
 *   Effect.catchIf(
 *     (error) => error instanceof UpgradeRefused && error.error._tag === "NotWebSocket",
 *     () => Effect.succeed(HttpServerResponse.html("<p>Connect with a WebSocket client.</p>"))
 *   )
 * )
 * ```
 *
 * @since 2.0.0
 */
export class UpgradeRefused extends HttpServerError.RequestError {
  constructor(
    request: HttpServerRequest.HttpServerRequest,
    readonly error: HttpError
  ) {
    super({ request, reason: "Decode", cause: error, description: error.message })
  }

  override [HttpServerRespondable.symbol]() {
    return HttpServerResponse.unsafeJson(errorBody(this.error), {
      status: this.error.status,
      headers: this.error.headers
    })
  }
}

/**
 * The options of `toFetchHandler` and `serveHttpApp`: the upgrade's limits and rules (`UpgradeSettings`), how its
 * `Socket` reads close codes, and whether each socket's end is logged. Every one is off unless set: see
 * `upgradeDefaults`.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as Layer from "effect/Layer"
 * import { type FetchHandlerOptions, toFetchHandler } from "websocket-echo/Workers"
 *
 * declare const chat: HttpRouter.HttpRouter
 *
 * // A chat's own rules: its pages only, one subprotocol, 64 KiB messages, five silent minutes, a log line per socket.
 * const options: FetchHandlerOptions = {
 *   allowedOrigins: ["https://chat.example"],
 *   protocols: ["chat.v1"],
 *   maxMessageBytes: 65_536,
 *   idleTimeoutSeconds: 300,
 *   log: true
 * }
 *
 * export default toFetchHandler(chat, Layer.empty, options)
 * ```
 *
 * @since 2.0.0
 */
export type FetchHandlerOptions = Partial<UpgradeSettings> & SocketOptions

/**
 * What an upgrade under `toFetchHandler` or `serveHttpApp` adds to the runtime's own WebSocket when no option
 * says otherwise: nothing. No idle timeout, no rate limit, no size cap below the runtime's 32 MiB, every origin,
 * and the client's first subprotocol (as Node's `ws` answers). The handshake's RFC checks (405, 426, 400) and the
 * closing handshake (the peer's close answered with its code, a close timeout of `CLOSE_TIMEOUT_MS`) always hold.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as Layer from "effect/Layer"
 * import { toFetchHandler, upgradeDefaults } from "websocket-echo/Workers"
 *
 * declare const app: HttpRouter.HttpRouter
 *
 * // Options are set over these: this is the same Worker as with { idleTimeoutSeconds: 300 } alone.
 * export default toFetchHandler(app, Layer.empty, { ...upgradeDefaults, idleTimeoutSeconds: 300 })
 * ```
 *
 * @since 2.0.0
 */
export const upgradeDefaults: UpgradeSettings = {
  maxMessageBytes: PLATFORM_MAX_MESSAGE_BYTES,
  maxMessagesPerSecond: 0,
  idleTimeoutSeconds: 0,
  protocols: [],
  allowedOrigins: [],
  requireOrigin: false
}

/**
 * A request that can upgrade, and every copy of it: `HttpRouter.mount` and middleware such as
 * `HttpMiddleware.xForwardedHeaders` hand routes `modify()`d copies, which must upgrade the same socket.
 */
const upgradeable = (
  request: HttpServerRequest.HttpServerRequest,
  upgrade: Effect.Effect<Socket.Socket, HttpServerError.RequestError>
): HttpServerRequest.HttpServerRequest =>
  Object.create(request, {
    upgrade: { value: upgrade },
    modify: {
      value: (options: Parameters<HttpServerRequest.HttpServerRequest["modify"]>[0]) =>
        upgradeable(request.modify(options), upgrade)
    }
  })

/** The requirements of an app served by `serveHttpApp`, once it has its request and scope. */
type Served<R> = Exclude<Exclude<R, Scope.Scope>, HttpServerRequest.HttpServerRequest>

/**
 * `serveHttpApp` with its settings given per request: the echo's `/rpc` serves with the echo's configuration.
 */
export const serveWith =
  <E, R>(app: HttpApp.Default<E, R | Scope.Scope>) =>
  (
    request: Request,
    options: UpgradeSettings & SocketOptions
  ): Effect.Effect<Response, never, Served<R> | WebSocketService | ExecutionContext> =>
    Effect.flatMap(Effect.runtime<Served<R> | WebSocketService | ExecutionContext>(), (runtime) => {
      const service = Context.get(runtime.context, WebSocketService)
      const response = Deferred.unsafeMake<Response>(FiberId.none)
      const respond = (web: Response) => Deferred.unsafeDone(response, Exit.succeed(web))
      let socket: Socket.Socket | undefined
      // The connection of a socket that no run has read yet: ended when the app ends, so that it never hangs.
      let unread: Connection | undefined
      const upgrade: Effect.Effect<Socket.Socket, HttpServerError.RequestError> = Effect.suspend(() =>
        socket !== undefined
          ? Effect.succeed(socket)
          : checkHandshake(request, options).pipe(
              Effect.mapError((error) => new UpgradeRefused(serverRequest, error)),
              Effect.flatMap((protocol) => service.upgrade(upgradeOptions(options, protocol))),
              Effect.map((connection) => {
                respond(connection.response)
                unread = connection
                const { run, runRaw, writer } = toSocket(connection, options)
                const read = () => {
                  unread = undefined
                }
                socket = Socket.Socket.of({
                  [Socket.TypeId]: Socket.TypeId,
                  run: (handler, runOptions) => Effect.zipRight(Effect.sync(read), run(handler, runOptions)),
                  runRaw: (handler, runOptions) => Effect.zipRight(Effect.sync(read), runRaw(handler, runOptions)),
                  writer
                })
                return socket
              })
            )
      )
      const endUnread = Effect.suspend(() =>
        unread === undefined ? Effect.void : superviseExit(unread, Effect.interrupt, undefined, options.log ?? false)
      )
      const serverRequest = upgradeable(HttpServerRequest.fromWeb(request), upgrade)
      const handled = HttpApp.toHandled(app, (handledRequest, handledResponse) =>
        Effect.sync(() =>
          respond(
            HttpServerResponse.toWeb(HttpApp.unsafeEjectStreamScope(handledResponse), {
              withoutBody: handledRequest.method === "HEAD",
              runtime
            })
          )
        )
      )
      // A fiber of the request's runtime, not a child of its fiber: a forked child keeps its parent, and with it
      // the finished request's 101 and client end, alive for as long as the app runs.
      const fiber = Runtime.runFork(runtime)(
        Effect.ensuring(Effect.provideService(handled, HttpServerRequest.HttpServerRequest, serverRequest), endUnread)
      )
      Context.get(runtime.context, ExecutionContext).waitUntil(new Promise((resolve) => fiber.addObserver(resolve)))
      return Deferred.await(response)
    })

/**
 * Serves one web `Request` with an @effect/platform app in which `HttpServerRequest.upgrade` works: it runs
 * the handshake's checks (`checkHandshake`, with `options` over `upgradeDefaults`), opens a connection through
 * `WebSocketService`, answers the request with its 101 at once, and returns the connection as a `Socket`
 * (`toSocket`). Calling it again, or on a `modify()`d copy of the request, returns the same socket. Frames that
 * arrive before `run`/`runRaw` are kept for it.
 *
 * The app runs in a fiber of its own that outlives the response, so a route may go on serving the socket
 * after the 101 and return only when it closes (as @effect/rpc's does); its own response is then dropped,
 * since the 101 has been sent. The request is kept alive (`ExecutionContext`) until the app has ended. A
 * socket that no `run`/`runRaw` has read by then is closed with 1001, so that none is left hanging.
 * A request that no route upgrades is answered with the app's response, as `HttpApp.toWebHandler` would.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as Effect from "effect/Effect"
 * import * as ManagedRuntime from "effect/ManagedRuntime"
 * import { WebSocketService } from "websocket-echo/Connection"
 * import { ExecutionContext, serveHttpApp } from "websocket-echo/Workers"
 *
 * declare const live: HttpRouter.HttpRouter
 *
 * // A Worker that routes on its own and hands /live to an @effect/platform app; one runtime per isolate.
 * const runtime = ManagedRuntime.make(WebSocketService.layer)
 * const serveLive = serveHttpApp(live, { maxMessageBytes: 65_536 })
 *
 * export default {
 *   fetch: (request, _env, ctx) =>
 *     new URL(request.url).pathname.startsWith("/live")
 *       ? runtime.runPromise(Effect.provideService(serveLive(request), ExecutionContext, ctx))
 *       : new Response("not here", { status: 404 })
 * } satisfies ExportedHandler
 * ```
 *
 * @since 2.0.0
 */
export const serveHttpApp = <E, R>(app: HttpApp.Default<E, R | Scope.Scope>, options: FetchHandlerOptions = {}) => {
  const serve = serveWith(app)
  const settings = { ...upgradeDefaults, ...options }
  return (request: Request): Effect.Effect<Response, never, Served<R> | WebSocketService | ExecutionContext> =>
    serve(request, settings)
}

/**
 * A Worker for an @effect/platform app, in which routes may call `HttpServerRequest.upgrade` (see
 * `serveHttpApp`): `export default toFetchHandler(app, layer)` is a complete Worker module.
 *
 * - It provides the real `WebSocketService`, and to every request its `ExecutionContext` and `WorkerEnv`.
 * - `layer` is the app's own services (`Layer.empty` when it has none), built once per isolate, on the first
 *   request, with `WorkerEnv` provided to it. It suits services without I/O objects of their own (config,
 *   clients of bindings): workerd forbids one request to use another request's I/O objects (a socket, a
 *   stream), so a service that holds one is built per request instead, with `Effect.provide(layer)` on the
 *   app or the route that needs it.
 * - While `layer` fails to build, every request gets the JSON 500, and the failure is logged once, with its cause.
 * - `options` sets the upgrade's limits and rules; by default there are none (`upgradeDefaults`).
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
 * import * as Context from "effect/Context"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { toFetchHandler, WorkerEnv } from "websocket-echo/Workers"
 *
 * // A service without I/O objects of its own, built once per isolate from the Worker's env.
 * class Greeting extends Context.Tag("app/Greeting")<Greeting, string>() {}
 * const GreetingLive = Layer.effect(
 *   Greeting,
 *   Effect.map(WorkerEnv, (env) => (env as { GREETING?: string }).GREETING ?? "hello")
 * )
 *
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get("/", Effect.map(Greeting, (greeting) => HttpServerResponse.text(greeting)))
 * )
 *
 * export default toFetchHandler(app, GreetingLive)
 * ```
 *
 * @since 2.0.0
 */
export const toFetchHandler = <E, R, LE>(
  app: HttpApp.Default<E, R | WebSocketService | ExecutionContext | WorkerEnv | Scope.Scope>,
  layer: Layer.Layer<R, LE, WorkerEnv>,
  options?: FetchHandlerOptions
): {
  readonly fetch: (request: Request, env: unknown, ctx: globalThis.ExecutionContext) => Promise<Response>
} => {
  const serve = serveHttpApp(app, options)
  let runtime: ManagedRuntime.ManagedRuntime<R | WebSocketService, LE> | undefined
  const services = (env: Cloudflare.Env) =>
    Layer.merge(WebSocketService.layer, layer).pipe(
      Layer.tapErrorCause((cause) => Effect.logError("toFetchHandler: the layer failed to build", cause)),
      Layer.provide(Layer.succeed(WorkerEnv, env))
    )
  return {
    fetch: (request, env, ctx) => {
      const workerEnv = (env ?? {}) as Cloudflare.Env
      // The isolate's env is one object for all of its requests: the runtime is built with the first one's.
      runtime ??= ManagedRuntime.make(services(workerEnv))
      return runtime
        .runPromise(
          serve(request).pipe(
            Effect.provideService(ExecutionContext, ctx),
            Effect.provideService(WorkerEnv, workerEnv)
          ) as Effect.Effect<Response, never, R | WebSocketService>
        )
        .catch(() => errorResponse(new InternalError()))
    }
  }
}
