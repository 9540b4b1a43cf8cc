import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { prefersHtml } from "../domain/Accept.js"
import {
  type HttpError,
  InvalidParameter,
  MethodNotAllowed,
  NotFound,
  TapsUnavailable,
  type TapUnavailable
} from "../domain/HttpError.js"
import { isTapName, TAP_NAME_RULE } from "../domain/Scenario.js"
import type { EchoSettings } from "../services/EchoConfig.js"
import { EchoTaps } from "../services/EchoTaps.js"
import { checkHandshake } from "./Handshake.js"
import { tapPage, tapPageSecurityPolicy } from "./TapPage.js"

const notFound = Exit.fail(new NotFound())
const tapsUnavailable = new TapsUnavailable()

const logUnavailable = (error: TapUnavailable): Effect.Effect<void> =>
  Effect.logWarning("tap unavailable", Cause.die(error.cause))

/**
 * `GET /tap/NAME`: a WebSocket upgrade is a watcher (the tap's history, then its live events, one JSON text message
 * each); a browser (`Accept: text/html`) gets the page that shows them; anything else gets the history as a JSON
 * array. 404 unless `TEST_BEHAVIOURS`; 400 `INVALID_PARAMETER` for a name that cannot be a tap's.
 */
export const tapResponse = (
  request: Request,
  settings: EchoSettings,
  name: string
): Effect.Effect<Response, HttpError> => {
  if (!settings.testBehaviours) return notFound
  const { method, headers } = request
  if (method !== "GET" && method !== "HEAD") return Exit.fail(new MethodNotAllowed({ method, use: "GET" }))
  if (!isTapName(name)) return Exit.fail(new InvalidParameter({ name: "tap", value: name, allowed: TAP_NAME_RULE }))
  if (method === "GET" && headers.has("upgrade")) {
    const checked = checkHandshake(request, settings)
    if (Exit.isFailure(checked)) return Exit.failCause(checked.cause)
    return withTaps((taps) => taps.watch(request, name, checked.value))
  }
  if (prefersHtml(headers.get("accept") ?? undefined)) {
    return Exit.succeed(
      new Response(tapPage, {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": tapPageSecurityPolicy,
          "x-content-type-options": "nosniff",
          "referrer-policy": "no-referrer",
          "cache-control": "no-store",
          vary: "Accept"
        }
      })
    )
  }
  return withTaps((taps) =>
    Effect.map(
      taps.history(name),
      (history) =>
        new Response(history, {
          headers: { "content-type": "application/json", "cache-control": "no-store", vary: "Accept" }
        })
    )
  )
}

const withTaps = (
  use: (taps: EchoTaps["Type"]) => Effect.Effect<Response, TapUnavailable>
): Effect.Effect<Response, HttpError> =>
  Effect.flatMap(
    Effect.serviceOption(EchoTaps),
    Option.match({
      onNone: (): Effect.Effect<Response, HttpError> => Effect.fail(tapsUnavailable),
      onSome: (taps) => Effect.tapError(use(taps), logUnavailable)
    })
  )
