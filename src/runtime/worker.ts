import { env } from "cloudflare:workers"
import * as HttpApp from "@effect/platform/HttpApp"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { EchoConfig } from "../services/EchoConfig.js"
import { WebSocketService } from "../services/WebSocketService.js"
import { App } from "./App.js"

/** `[vars]` from wrangler.toml, as a `ConfigProvider`. */
const fromEnv = ConfigProvider.fromMap(
  new Map(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"))
)

const AppLayer = Layer.mergeAll(WebSocketService.layer, EchoConfig.layer, Logger.json).pipe(
  Layer.provide(Layer.setConfigProvider(fromEnv))
)

// Built on the first request, then shared by every request of the isolate.
const { handler } = HttpApp.toWebHandlerLayer(App, AppLayer)

export default {
  fetch: (request) => handler(request)
} satisfies ExportedHandler<Env>
