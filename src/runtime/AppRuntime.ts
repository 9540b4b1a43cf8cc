import { env } from "cloudflare:workers"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { EchoConfig } from "../services/EchoConfig.js"
import { EchoRooms, roomsOf } from "../services/EchoRooms.js"
import { EchoTaps, tapsOf } from "../services/EchoTaps.js"
import { WebSocketService, workersWebSockets } from "../services/WebSocketService.js"

/** `[vars]` from wrangler.toml, as a `ConfigProvider`. */
const fromEnv = ConfigProvider.fromMap(
  new Map(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"))
)

/** What `Logger.json` does: the JSON logger in place of the default one. */
const json = Logger.withConsoleLog(Logger.jsonLogger)

/**
 * The isolate's settings, services and logging, built in one step: the settings read from `[vars]` (a bad one is
 * logged as JSON and fails the build), JSON log lines from the configured level up, the services as values. One
 * scoped effect rather than a graph of layers: merging and providing layers forks fibers and diffs fiber refs, and
 * on a cold isolate, where each of those code paths runs for the first time, that was ≈ 9 ms of the first request.
 */
const AppLayer = Layer.scopedContext(
  Effect.gen(function* () {
    yield* Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
      HashSet.add(HashSet.remove(loggers, Logger.defaultLogger), json)
    )
    yield* Effect.withConfigProviderScoped(fromEnv)
    const settings = yield* Effect.tapError(EchoConfig.config, (error) =>
      Effect.logError(`invalid configuration: ${error.toString()}`)
    )
    yield* Effect.locallyScoped(FiberRef.currentMinimumLogLevel, settings.logLevel)
    const services = Context.make(EchoConfig, settings).pipe(Context.add(WebSocketService, workersWebSockets))
    const rooms = env.ECHO_ROOMS === undefined ? services : Context.add(services, EchoRooms, roomsOf(env.ECHO_ROOMS))
    return env.ECHO_TAPS === undefined ? rooms : Context.add(rooms, EchoTaps, tapsOf(env.ECHO_TAPS))
  })
)

/**
 * The isolate's one Effect runtime, shared by the Worker's requests and the rooms' events: built on first
 * use (no I/O at module load), never per request, per message or per object.
 */
export const AppRuntime = ManagedRuntime.make(AppLayer)
