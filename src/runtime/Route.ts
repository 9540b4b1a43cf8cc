import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import { prefersHtml } from "../domain/Accept.js"
import { CLOSE_TIMEOUT_MS } from "../domain/ConnectionMachine.js"
import {
  errorResponse,
  type HttpError,
  InternalError,
  MethodNotAllowed,
  NotFound,
  RejectedOnRequest,
  RoomsUnavailable,
  type RoomUnavailable,
  type TapFull,
  TapsUnavailable,
  type TapUnavailable
} from "../domain/HttpError.js"
import { requestInfo } from "../domain/RequestInfo.js"
import { isPlainEcho, parameterHelp } from "../domain/Scenario.js"
import { driverOf } from "../services/ConnectionDriver.js"
import { EchoConfig, type EchoSettings } from "../services/EchoConfig.js"
import { EchoRooms, type SocketTap } from "../services/EchoRooms.js"
import { EchoTaps, staleAfterMs } from "../services/EchoTaps.js"
import { WebSocketService } from "../services/WebSocketService.js"
import { ExecutionContext } from "../services/WorkerContext.js"
import { startHandlerEcho, streamEcho } from "./Echo.js"
import { rpcResponse } from "./EchoRpc.js"
import { type AcceptedUpgrade, checkUpgrade, upgradeOptions } from "./Handshake.js"
import { name, version } from "./Package.js"
import { tapResponse } from "./TapRoute.js"

// Errors without fields are values: built once, since an error captures a stack trace when constructed.
const notFound = new NotFound()
const roomsUnavailable = new RoomsUnavailable()
const tapsUnavailable = new TapsUnavailable()

/** What an upgrade in this Worker needs: the sockets, and the request's `ctx` to keep it alive. */
type Upgrading = WebSocketService | ExecutionContext

/**
 * A socket echoed in this Worker, its request kept alive (`ExecutionContext`) until the socket ends: by a fiber
 * of its own with the stream pipeline (not a fork of the request's fiber, which would be interrupted when the
 * 101 is sent), by callbacks on the connection with the handler's.
 */
const inWorker = (request: Request, settings: EchoSettings, { protocol, scenario }: AcceptedUpgrade, tap?: WorkerTap) =>
  Effect.flatMap(Effect.runtime<Upgrading>(), (runtime) => {
    const lifetime = Context.get(runtime.context, ExecutionContext)
    return Effect.map(
      Context.get(runtime.context, WebSocketService).upgrade(upgradeOptions(settings, protocol)),
      (connection) => {
        const info = scenario.info ? requestInfo(request) : undefined
        let drained: (() => Promise<void>) | undefined
        if (tap !== undefined) {
          const line = tap.taps.line(tap.name, tap.slot, (cause) =>
            Runtime.runSync(runtime, Effect.logWarning("tap unavailable", Cause.die(cause)))
          )
          const behaviours = scenario.behaviours
          driverOf(connection).tapWith({
            subject: {
              connection: connection.id,
              protocol: connection.protocol,
              request: requestInfo(request),
              behaviours
            },
            extra: isPlainEcho(scenario) ? undefined : { behaviours },
            line
          })
          drained = () => line.drained()
        }
        let ended: Promise<unknown>
        if (settings.pipeline === "handler") {
          ended = startHandlerEcho(runtime, connection, settings.prefix, scenario, info).ended
        } else {
          // A fiber of the runtime's, not a child of the request's: a forked child keeps its parent, and with it
          // the finished request's 101 and client end, alive for the socket's whole life (≈ 2 KB, `--heap`).
          const fiber = Runtime.runFork(runtime)(streamEcho(connection, settings.prefix, scenario, info))
          ended = new Promise((resolve) => fiber.addObserver(resolve))
        }
        // A tapped socket's request also lives until its last events have reached the tap.
        lifetime.waitUntil(drained === undefined ? ended : ended.then(drained))
        return connection.response
      }
    )
  })

/** A tapped socket of this Worker: its tap's name, its slot there, and the taps. */
interface WorkerTap {
  readonly taps: EchoTaps["Type"]
  readonly name: string
  readonly slot: string
}

/**
 * A socket handed to a hibernating Durable Object (a room), with everything it is echoed with: `RoomsUnavailable`
 * where the app provides no rooms, `RoomUnavailable` (logged with its cause) where the room cannot be reached.
 */
const inRoom = (
  request: Request,
  settings: EchoSettings,
  { protocol, room, scenario }: AcceptedUpgrade,
  tap?: SocketTap
) =>
  Effect.flatMap(
    Effect.serviceOption(EchoRooms),
    Option.match({
      onNone: (): Effect.Effect<Response, RoomsUnavailable | RoomUnavailable> => Effect.fail(roomsUnavailable),
      onSome: (rooms) =>
        rooms
          .open(
            request,
            {
              prefix: settings.prefix,
              limits: {
                maxMessageBytes: settings.maxMessageBytes,
                maxMessagesPerSecond: settings.maxMessagesPerSecond
              },
              idleTimeoutMs: settings.idleTimeoutSeconds * 1000,
              protocol,
              room,
              maxSockets: settings.maxRoomSockets,
              ...(isPlainEcho(scenario) ? {} : { scenario, info: scenario.info ? requestInfo(request) : undefined }),
              ...(tap === undefined ? {} : { tap })
            },
            room
          )
          .pipe(Effect.tapError(({ cause }) => Effect.logWarning("room unavailable", Cause.die(cause))))
    })
  )

/** Where an upgrade goes: a broadcast always to its room, any other as `ECHO_BACKEND` says; refused on request. */
const open = (
  request: Request,
  settings: EchoSettings,
  accepted: AcceptedUpgrade
): Effect.Effect<Response, HttpError, Upgrading> => {
  const { reject, broadcast, tap } = accepted.scenario
  if (reject !== undefined) return Effect.fail(new RejectedOnRequest(reject))
  const roomed = settings.backend === "durable-object" || broadcast
  if (tap !== undefined) return tapped(request, settings, accepted, tap, roomed)
  return roomed ? inRoom(request, settings, accepted) : inWorker(request, settings, accepted)
}

/**
 * A tapped upgrade (`?tap=NAME`): the tap takes the socket first (`TAP_FULL` once it taps `MAX_ROOM_SOCKETS`),
 * then the socket is opened where it would be untapped, with its events published to the tap by its driver.
 */
const tapped = (
  request: Request,
  settings: EchoSettings,
  accepted: AcceptedUpgrade,
  name: string,
  roomed: boolean
): Effect.Effect<Response, HttpError, Upgrading> =>
  Effect.flatMap(
    Effect.serviceOption(EchoTaps),
    Option.match({
      onNone: (): Effect.Effect<Response, HttpError, Upgrading> => Effect.fail(tapsUnavailable),
      onSome: (taps) => {
        const slot = crypto.randomUUID()
        const staleMs = staleAfterMs(settings.idleTimeoutSeconds * 1000, CLOSE_TIMEOUT_MS)
        return taps
          .admit(name, slot, settings.maxRoomSockets, staleMs)
          .pipe(
            Effect.tapError(logTapUnavailable),
            Effect.zipRight(
              roomed
                ? inRoom(request, settings, accepted, { name, slot, request: requestInfo(request) })
                : inWorker(request, settings, accepted, { taps, name, slot })
            )
          )
      }
    })
  )

const logTapUnavailable = (error: TapFull | TapUnavailable): Effect.Effect<void> =>
  error._tag === "TapUnavailable" ? Effect.logWarning("tap unavailable", Cause.die(error.cause)) : Effect.void

/**
 * The echo endpoint: a WebSocket upgrade becomes a 101 whose socket is echoed
 * in this Worker or in a room (`ECHO_BACKEND`), with the behaviours its query
 * asks for when `testBehaviours` is on; anything else fails with the
 * `HttpError` that says why. The request lives (`ExecutionContext`) until its
 * socket's echo has ended. A room upgrade (`?room=`, `broadcast=true`, the
 * `durable-object` backend) needs the `EchoRooms` service, and fails with
 * `RoomsUnavailable` (501) without it.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as ManagedRuntime from "effect/ManagedRuntime"
 * import { WebSocketService } from "websocket-echo/Connection"
 * import { EchoConfig, echoResponse } from "websocket-echo/EchoServer"
 * import { errorResponse } from "websocket-echo/HttpError"
 * import { ExecutionContext } from "websocket-echo/Workers"
 *
 * // A plain Worker whose only endpoint is the echo; a refusal is its JSON (426 for a request that is no upgrade).
 * const runtime = ManagedRuntime.make(Layer.merge(EchoConfig.layerWith({ prefix: "> " }), WebSocketService.layer))
 *
 * export default {
 *   fetch: (request, _env, ctx) =>
 *     runtime.runPromise(
 *       echoResponse(request).pipe(
 *         Effect.catchAll((error) => Effect.succeed(errorResponse(error))),
 *         Effect.provideService(ExecutionContext, ctx)
 *       )
 *     )
 * } satisfies ExportedHandler
 * ```
 *
 * @since 2.0.0
 */
export const echoResponse = (
  request: Request
): Effect.Effect<Response, HttpError, EchoConfig | WebSocketService | ExecutionContext> =>
  Effect.flatMap(EchoConfig, (settings) => echoWith(request, settings))

/** `echoResponse` with its settings: a refusal is a value (an `Exit`), which costs no fiber to run. */
const echoWith = (request: Request, settings: EchoSettings): Effect.Effect<Response, HttpError, Upgrading> => {
  const checked = checkUpgrade(request, settings)
  if (Exit.isFailure(checked)) return Exit.failCause(checked.cause)
  const { acceptDelayMs } = checked.value.scenario
  const response = open(request, settings, checked.value)
  return acceptDelayMs === 0 ? response : Effect.delay(response, acceptDelayMs)
}

const json = (body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { headers: { "content-type": "application/json", ...headers } })

/** A 405 unless the request is a GET or a HEAD (served as GET without a body). */
const onlyGet = (request: Request): MethodNotAllowed | undefined =>
  request.method === "GET" || request.method === "HEAD"
    ? undefined
    : new MethodNotAllowed({ method: request.method, use: "GET" })

/** `answer()` for a GET, the 405 for any other method: a value either way. */
const getOnly = (request: Request, answer: () => Response): Exit.Exit<Response, MethodNotAllowed> => {
  const refused = onlyGet(request)
  return refused === undefined ? Exit.succeed(answer()) : Exit.fail(refused)
}

/**
 * The debug page, evaluated on the first request that asks for it: 14 KiB gzip of HTML and script that only a
 * browser wants, kept out of what every cold isolate evaluates before its first answer (`bench/budget.json`). It
 * imports nothing that the rest of the Worker shares, so the bundler's lazy wrapper covers the page alone.
 */
let page: typeof import("./DebugPage.js") | undefined
const loadPage = Effect.promise(() => import("./DebugPage.js"))

const pageResponse = ({ debugPage, debugPageSecurityPolicy }: typeof import("./DebugPage.js")) =>
  new Response(debugPage, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": debugPageSecurityPolicy,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      vary: "Accept"
    }
  })

/** `GET /`: the debug page for a browser, a description of the service for anything else. */
const index = (request: Request, settings: EchoSettings): Effect.Effect<Response, MethodNotAllowed> => {
  if (!prefersHtml(request.headers.get("accept") ?? undefined)) return getOnly(request, () => describe(settings))
  const refused = onlyGet(request)
  if (refused !== undefined) return Exit.fail(refused)
  if (page !== undefined) return Exit.succeed(pageResponse(page))
  return Effect.map(loadPage, (loaded) => {
    page = loaded
    return pageResponse(loaded)
  })
}

/** What this server is, as JSON: its endpoints, their parameters, and its settings. */
const describe = ({ prefix, maxMessageBytes, protocols, pipeline, backend, testBehaviours }: EchoSettings) =>
  json(
    {
      name,
      version,
      endpoints: [
        {
          method: "GET",
          path: "/echo",
          description: "WebSocket upgrade; every message comes back with the prefix",
          parameters: testBehaviours ? parameterHelp : { room: parameterHelp.room }
        },
        {
          method: "GET",
          path: "/rpc",
          description:
            "WebSocket upgrade; the EchoRpcs procedures (Echo, EchoStream) over @effect/rpc, ?serialization=json (default), ndjson or msgpack"
        },
        { method: "GET", path: "/", description: "this description, or the debug page for Accept: text/html" },
        { method: "GET", path: "/health", description: 'liveness: {"status":"ok"}' },
        ...(testBehaviours
          ? [
              { method: "GET", path: "/whoami", description: "what the server sees of this request, as JSON" },
              {
                method: "GET",
                path: "/tap/NAME",
                description:
                  "the events of the sockets opened with ?tap=NAME: a WebSocket of them, a page, or the last 100 as JSON"
              }
            ]
          : [])
      ],
      prefix,
      maxMessageBytes,
      protocols,
      pipeline,
      backend
    },
    { vary: "Accept" }
  )

/** `GET /whoami`: what the server sees of the request (`requestInfo`); 404 unless `TEST_BEHAVIOURS`. */
const whoami = (
  request: Request,
  { testBehaviours }: EchoSettings
): Exit.Exit<Response, MethodNotAllowed | NotFound> =>
  testBehaviours ? getOnly(request, () => json(requestInfo(request), { "cache-control": "no-store" })) : notFoundExit

/** `GET /health`: answers once the isolate has built its layers, so a bad configuration shows as a 500. */
const health = (request: Request): Exit.Exit<Response, MethodNotAllowed> =>
  getOnly(request, () => json({ status: "ok" }, { "cache-control": "no-store" }))

const routes: Record<
  string,
  (request: Request, settings: EchoSettings) => Effect.Effect<Response, HttpError, Upgrading>
> = {
  "/": index,
  "/health": health,
  "/echo": echoWith,
  "/rpc": rpcResponse,
  "/whoami": whoami
}

const notFoundExit = Exit.fail(notFound)

/** Where the taps are watched: `/tap/NAME`. */
const TAP_PATH = "/tap/"

/** The path of a request URL without its query, and without a trailing slash (`/echo/` is `/echo`). */
const pathOf = (url: string): string => {
  const start = url.indexOf("/", url.indexOf("//") + 2)
  if (start < 0) return "/"
  const end = url.slice(start).search(/[?#]/)
  const path = end < 0 ? url.slice(start) : url.slice(start, start + end)
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path
}

/**
 * The whole service, from a web `Request` to a web `Response`: the debug page
 * and description at `/`, `/health`, the echo at `/echo`, `/rpc`, unknown
 * paths as 404, every `HttpError` rendered by `errorResponse`, and any defect
 * as a logged 500 that tells the client nothing of it. HEAD gets GET's headers
 * without a body.
 *
 * @example
 * ```ts
 * import { env } from "cloudflare:workers"
 * import * as ConfigProvider from "effect/ConfigProvider"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as ManagedRuntime from "effect/ManagedRuntime"
 * import { WebSocketService } from "websocket-echo/Connection"
 * import { EchoConfig, route } from "websocket-echo/EchoServer"
 * import { ExecutionContext } from "websocket-echo/Workers"
 *
 * // This repository's Worker, in short: its settings from wrangler.toml's [vars], one runtime per isolate.
 * const vars = Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string")
 * const runtime = ManagedRuntime.make(
 *   Layer.merge(EchoConfig.layer, WebSocketService.layer).pipe(
 *     Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(vars))))
 *   )
 * )
 *
 * export default {
 *   fetch: (request, _env, ctx) => runtime.runPromise(Effect.provideService(route(request), ExecutionContext, ctx))
 * } satisfies ExportedHandler
 * ```
 *
 * @since 2.0.0
 */
export const route = (
  request: Request
): Effect.Effect<Response, never, EchoConfig | WebSocketService | ExecutionContext> =>
  Effect.flatMap(EchoConfig, (settings) => routeWith(settings)(request))

/**
 * `route` with the settings given rather than read from `EchoConfig`. What needs no service and no waiting (a
 * 426, a 404, `/health`, `/`) is an `Effect` that is already its result, an `Exit`: `Runtime.runSyncExit` returns
 * it without starting a fiber. The Worker runs this, with the settings of its runtime.
 */
export const routeWith =
  (settings: EchoSettings) =>
  (request: Request): Effect.Effect<Response, never, Upgrading> => {
    const path = pathOf(request.url)
    const handler = routes[path]
    const result =
      handler !== undefined
        ? handler(request, settings)
        : path.startsWith(TAP_PATH)
          ? tapResponse(request, settings, path.slice(TAP_PATH.length))
          : notFoundExit
    const done = asExit(result)
    const answered: Effect.Effect<Response, never, Upgrading> =
      done === undefined
        ? Effect.catchAllCause(result, answer)
        : Exit.isSuccess(done)
          ? Exit.succeed(done.value)
          : answer(done.cause)
    if (readableAnywhere.has(path)) readableByAnyOrigin(answered)
    if (request.method !== "HEAD") return answered
    const headed = asExit(answered)
    return headed !== undefined && Exit.isSuccess(headed)
      ? Exit.succeed(withoutBody(headed.value))
      : Effect.map(answered, withoutBody)
  }

/**
 * The paths whose immediate answers (`/health`, the 426 or 400 of a plain GET of `/echo`) a page of any origin may
 * read: the debug page's Diagnose checks them on whichever deployment its URL field names. They carry nothing
 * private, and no credentials are allowed.
 */
const readableAnywhere = new Set(["/health", "/echo"])

/** Marks an answer that is already there (never a 101, which is still to come) as readable by any origin. */
const readableByAnyOrigin = (answered: Effect.Effect<Response, never, Upgrading>): void => {
  const done = asExit(answered)
  if (done !== undefined && Exit.isSuccess(done)) done.value.headers.set("access-control-allow-origin", "*")
}

/** An `Effect` that is already its result, as that `Exit`; `undefined` for one that has to run. */
const asExit = <A, E, R>(effect: Effect.Effect<A, E, R>): Exit.Exit<A, E> | undefined =>
  Exit.isExit(effect) ? (effect as Exit.Exit<A, E>) : undefined

/** The response to a failed request: the `HttpError`'s own, or a 500 for a defect, which is logged. */
const answer = (cause: Cause.Cause<HttpError>): Effect.Effect<Response> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return Exit.succeed(errorResponse(failure.value))
  const internal = errorResponse(new InternalError())
  return Cause.isInterruptedOnly(cause)
    ? Exit.succeed(internal)
    : Effect.as(Effect.logError("unexpected defect", cause), internal)
}

const withoutBody = (response: Response): Response => (response.body === null ? response : new Response(null, response))
