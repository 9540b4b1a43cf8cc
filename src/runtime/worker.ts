import * as Exit from "effect/Exit"
import { errorResponse, InternalError } from "../domain/HttpError.js"
import { asyncFiberOf } from "../services/WebSocketService.js"
import { AppRuntime } from "./AppRuntime.js"
import { route } from "./Route.js"

export { EchoRoom } from "./EchoRoom.js"

// While the configuration is invalid (logged once, when the runtime is built), every request gets the JSON 500.
const internalError = () => errorResponse(new InternalError())

const responseOf = (exit: Exit.Exit<Response, unknown>): Response =>
  Exit.isSuccess(exit) ? exit.value : internalError()

export default {
  // A route that completes inside the request's event (a 426, /health, an upgrade with the handler pipeline) is
  // run synchronously: no promise and no scheduled fiber. One that suspends goes on as the fiber it became.
  fetch: (request, _env, ctx) => {
    const exit = AppRuntime.runSyncExit(route(request, ctx))
    const fiber = asyncFiberOf(exit)
    return fiber === undefined
      ? responseOf(exit)
      : new Promise<Response>((resolve) => fiber.addObserver((exit) => resolve(responseOf(exit))))
  }
} satisfies ExportedHandler<Env>
