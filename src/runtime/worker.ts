import { errorResponse, InternalError } from "../domain/HttpError.js"
import { AppRuntime } from "./AppRuntime.js"
import { route } from "./Route.js"

export { EchoRoom } from "./EchoRoom.js"

export default {
  // While the configuration is invalid (logged once, when the runtime is built), every request gets the JSON 500.
  fetch: (request, _env, ctx) =>
    AppRuntime.runPromise(route(request, ctx)).catch(() => errorResponse(new InternalError()))
} satisfies ExportedHandler<Env>
