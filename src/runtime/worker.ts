import { env } from "cloudflare:workers"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { errorResponse, InternalError } from "../domain/HttpError.js"
import { EchoConfig } from "../services/EchoConfig.js"
import { WebSocketService } from "../services/WebSocketService.js"
import { route } from "./Route.js"

/** `[vars]` from wrangler.toml, as a `ConfigProvider`. */
const fromEnv = ConfigProvider.fromMap(
  new Map(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"))
)

/** JSON log lines, from the configured level up. */
const logging = Layer.unwrapEffect(
  Effect.map(EchoConfig, ({ logLevel }) => Layer.merge(Logger.json, Logger.minimumLogLevel(logLevel)))
)

const AppLayer = logging.pipe(
  Layer.provideMerge(Layer.mergeAll(WebSocketService.layer, EchoConfig.layer)),
  Layer.tapError((error) => Effect.logError(`invalid configuration: ${error.toString()}`)),
  Layer.provide(Layer.setConfigProvider(fromEnv)),
  Layer.provide(Logger.json)
)

// Built on the first request, then shared by every request of the isolate.
const runtime = ManagedRuntime.make(AppLayer)

export default {
  // While the configuration is invalid (logged once, above), every request gets the JSON 500.
  fetch: (request) => runtime.runPromise(route(request)).catch(() => errorResponse(new InternalError()))
} satisfies ExportedHandler<Env>
