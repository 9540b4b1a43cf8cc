import { env } from "cloudflare:workers"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { EchoConfig } from "../services/EchoConfig.js"
import { EchoRooms } from "../services/EchoRooms.js"
import { EchoTaps } from "../services/EchoTaps.js"
import { WebSocketService } from "../services/WebSocketService.js"

/** `[vars]` from wrangler.toml, as a `ConfigProvider`. */
const fromEnv = ConfigProvider.fromMap(
  new Map(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"))
)

/** JSON log lines, from the configured level up. */
const logging = Layer.unwrapEffect(
  Effect.map(EchoConfig, ({ logLevel }) => Layer.merge(Logger.json, Logger.minimumLogLevel(logLevel)))
)

const services = Layer.mergeAll(
  WebSocketService.layer,
  EchoConfig.layer,
  env.ECHO_ROOMS === undefined ? Layer.empty : EchoRooms.layer(env.ECHO_ROOMS),
  env.ECHO_TAPS === undefined ? Layer.empty : EchoTaps.layer(env.ECHO_TAPS)
)

const AppLayer = logging.pipe(
  Layer.provideMerge(services),
  Layer.tapError((error) => Effect.logError(`invalid configuration: ${error.toString()}`)),
  Layer.provide(Layer.setConfigProvider(fromEnv)),
  Layer.provide(Logger.json)
)

/**
 * The isolate's one Effect runtime, shared by the Worker's requests and the rooms' events: built on first
 * use (no I/O at module load), never per request, per message or per object.
 */
export const AppRuntime = ManagedRuntime.make(AppLayer)
