import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { InternalError, NotFound } from "../domain/HttpError.js"
import { EchoRouter } from "./Echo.js"

/**
 * The whole service as an `HttpApp`: the echo router, unknown paths as 404,
 * and any defect as a logged 500 that tells the client nothing of it.
 */
export const App = EchoRouter.pipe(
  Effect.catchTag("RouteNotFound", () => new NotFound()),
  Effect.catchAllDefect((defect) =>
    Effect.zipRight(Effect.logError("unexpected defect", Cause.die(defect)), new InternalError())
  )
)
