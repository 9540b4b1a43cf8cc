import * as Effect from "effect/Effect"
import { errorResponse, InternalError } from "../domain/HttpError.js"
import { WaitUntil } from "../services/WaitUntil.js"
import { AppRuntime } from "./AppRuntime.js"
import { route } from "./Route.js"

export { EchoRoom } from "./EchoRoom.js"

export default {
  // While the configuration is invalid (logged once, when the runtime is built), every request gets the JSON 500.
  fetch: (request, _env, ctx) =>
    AppRuntime.runPromise(Effect.provideService(route(request), WaitUntil, (promise) => ctx.waitUntil(promise))).catch(
      () => errorResponse(new InternalError())
    )
} satisfies ExportedHandler<Env>
