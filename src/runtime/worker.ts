import * as Context from "effect/Context"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import { errorResponse, InternalError } from "../domain/HttpError.js"
import { EchoConfig } from "../services/EchoConfig.js"
import { asyncFiberOf } from "../services/WebSocketService.js"
import { ExecutionContext, WorkerEnv } from "../services/WorkerContext.js"
import { AppRuntime } from "./AppRuntime.js"
import { routeWith } from "./Route.js"

export { EchoRoom } from "./EchoRoom.js"
export { EchoTap } from "./EchoTap.js"

const internalError = () => errorResponse(new InternalError())

const responseOf = (exit: Exit.Exit<Response, unknown>): Response =>
  Exit.isSuccess(exit) ? exit.value : internalError()

export default {
  // The route runs with the settings of the isolate's runtime. A 426, a 404, `/health` or `/` is a value that
  // `runSyncExit` returns without a fiber; an upgrade that completes in the event runs synchronously; one that
  // suspends (a room, /rpc, `accept_delay_ms`) goes on as the fiber it became. While the configuration is invalid
  // (logged once, when the runtime is built), every request gets the JSON 500.
  fetch: async (request, env, ctx) => {
    const runtime = await AppRuntime.runtime().catch(() => undefined)
    if (runtime === undefined) return internalError()
    // The request's own services, on the isolate's runtime: a copy of its context, no fiber and no layer.
    const context = Context.add(Context.add(runtime.context, ExecutionContext, ctx), WorkerEnv, env)
    const exit = Runtime.runSyncExit(
      Runtime.make({ context, runtimeFlags: runtime.runtimeFlags, fiberRefs: runtime.fiberRefs }),
      routeWith(Context.get(runtime.context, EchoConfig))(request)
    )
    const fiber = asyncFiberOf(exit)
    return fiber === undefined
      ? responseOf(exit)
      : new Promise<Response>((resolve) => fiber.addObserver((exit) => resolve(responseOf(exit))))
  }
} satisfies ExportedHandler<Env>
