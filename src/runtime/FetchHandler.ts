import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Socket from "@effect/platform/Socket"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { errorBody, errorResponse, type HttpError, InternalError } from "../domain/HttpError.js"
import { defaults, EchoConfig } from "../services/EchoConfig.js"
import { type Connection, WebSocketService } from "../services/WebSocketService.js"
import { type SocketOptions, toSocket } from "./ConnectionSocket.js"
import { superviseExit } from "./Echo.js"
import { checkHandshake, type RequestLifetime, type UpgradeSettings, upgradeOptions } from "./Handshake.js"

/**
 * How `HttpServerRequest.upgrade` fails under `toFetchHandler`: a `RequestError`, as @effect/platform types
 * it, whose `error` (also its `cause`) is the `HttpError` of the check that refused the handshake, such as
 * `NotWebSocket`. Left unhandled, it renders as that error's own JSON response (426 for `NotWebSocket`).
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

/** The options of `toFetchHandler` and `serveHttpApp`: the upgrade's limits and rules, and how its `Socket` reads close codes. */
export type FetchHandlerOptions = Partial<UpgradeSettings> & SocketOptions

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

/**
 * Serves one web `Request` with an @effect/platform app in which `HttpServerRequest.upgrade` works: it runs
 * the handshake's checks (`checkHandshake`, with `options` over the `EchoConfig` in context, if any, over our
 * defaults), opens a connection through `WebSocketService`, answers the request with its 101 at once, and
 * returns the connection as a `Socket` (`toSocket`). Calling it again returns the same socket.
 *
 * The app runs in a fiber of its own that outlives the response, so a route may go on serving the socket
 * after the 101 and return only when it closes (as @effect/rpc's does); its own response is then dropped,
 * since the 101 has been sent. Pass `ctx` as `lifetime`: the request is kept alive until the app has ended. A
 * socket that no `run`/`runRaw` has read by then is closed with 1001 (and logged), so that none is left hanging.
 * A request that no route upgrades is answered with the app's response, as `HttpApp.toWebHandler` would.
 */
export const serveHttpApp =
  <E, R>(app: HttpApp.Default<E, R | Scope.Scope>, options: FetchHandlerOptions = {}) =>
  (
    request: Request,
    lifetime?: RequestLifetime
  ): Effect.Effect<
    Response,
    never,
    Exclude<Exclude<R, Scope.Scope>, HttpServerRequest.HttpServerRequest> | WebSocketService
  > =>
    Effect.flatMap(
      Effect.all([
        WebSocketService,
        Effect.serviceOption(EchoConfig),
        Effect.runtime<Exclude<Exclude<R, Scope.Scope>, HttpServerRequest.HttpServerRequest>>()
      ]),
      ([service, config, runtime]) => {
        const settings: UpgradeSettings = { ...Option.getOrElse(config, () => defaults), ...options }
        const response = Deferred.unsafeMake<Response>(FiberId.none)
        const respond = (web: Response) => Deferred.unsafeDone(response, Exit.succeed(web))
        let socket: Socket.Socket | undefined
        // The connection of a socket that no run has read yet: ended when the app ends, so that it never hangs.
        let unread: Connection | undefined
        const upgrade: Effect.Effect<Socket.Socket, HttpServerError.RequestError> = Effect.suspend(() =>
          socket !== undefined
            ? Effect.succeed(socket)
            : checkHandshake(request, settings).pipe(
                Effect.mapError((error) => new UpgradeRefused(serverRequest, error)),
                Effect.flatMap((protocol) => service.upgrade(upgradeOptions(settings, protocol))),
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
          unread === undefined ? Effect.void : superviseExit(unread, Effect.interrupt)
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
        lifetime?.waitUntil(new Promise((resolve) => fiber.addObserver(resolve)))
        return Deferred.await(response)
      }
    )

/**
 * A Worker for an @effect/platform app, in which routes may call `HttpServerRequest.upgrade` (see
 * `serveHttpApp`): `export default toFetchHandler(app, layer)` is a complete Worker module. It provides the
 * real `WebSocketService` itself; `layer` is the app's own services (`Layer.empty` when it has none), built
 * once per isolate on the first request; `options` sets the upgrade's limits and rules (an `EchoConfig` in
 * `layer` does too; `options` wins). While `layer` fails to build, every request gets our JSON 500.
 */
export const toFetchHandler = <E, R, LE>(
  app: HttpApp.Default<E, R | WebSocketService | Scope.Scope>,
  layer: Layer.Layer<R, LE>,
  options?: FetchHandlerOptions
): {
  readonly fetch: (request: Request, env: unknown, ctx: ExecutionContext) => Promise<Response>
} => {
  const runtime = ManagedRuntime.make(Layer.merge(WebSocketService.layer, layer))
  const serve = serveHttpApp(app, options)
  return {
    fetch: (request, _env, ctx) =>
      runtime
        .runPromise(serve(request, ctx) as Effect.Effect<Response, never, R | WebSocketService>)
        .catch(() => errorResponse(new InternalError()))
  }
}
