import { env } from "cloudflare:workers"
import * as HttpApp from "@effect/platform/HttpApp"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { InternalError } from "../domain/HttpError.js"
import { EchoConfig } from "../services/EchoConfig.js"
import { WebSocketService } from "../services/WebSocketService.js"
import { App } from "./App.js"

/** `[vars]` from wrangler.toml, as a `ConfigProvider`. */
const fromEnv = ConfigProvider.fromMap(
  new Map(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"))
)

const AppLayer = Layer.mergeAll(WebSocketService.layer, EchoConfig.layer).pipe(
  Layer.tapError((error) => Effect.logError(`invalid configuration: ${error.toString()}`)),
  Layer.provide(Layer.setConfigProvider(fromEnv)),
  Layer.provideMerge(Logger.json)
)

// Built on the first request, then shared by every request of the isolate.
const { handler } = HttpApp.toWebHandlerLayer(App, AppLayer)

// While the configuration is invalid (logged once, above), every request gets the app's own 500.
const unavailable = HttpApp.toWebHandler(new InternalError())

export default {
  fetch: (request) => handler(request).catch(() => unavailable(request))
} satisfies ExportedHandler<Env>
