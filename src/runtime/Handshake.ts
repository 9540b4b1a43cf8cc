import * as Exit from "effect/Exit"
import {
  type HttpError,
  InvalidSubprotocol,
  MethodNotAllowed,
  NotWebSocket,
  OriginNotAllowed,
  SubprotocolNotSupported,
  UnsupportedUpgrade,
  UnsupportedVersion
} from "../domain/HttpError.js"
import { isOriginAllowed } from "../domain/Origin.js"
import { isScenario, parseScenario, type Scenario } from "../domain/Scenario.js"
import { chooseSubprotocol, oversizedSubprotocol, parseSubprotocols } from "../domain/Subprotocol.js"
import { isRuntimeUpgradable, isWebSocketUpgrade } from "../domain/Upgrade.js"
import type { EchoSettings } from "../services/EchoConfig.js"
import type { UpgradeOptions } from "../services/WebSocketService.js"

// Errors without fields are values: built once, since an error captures a stack trace when constructed.
const notWebSocket = new NotWebSocket()

/**
 * The settings an upgrade is checked and opened with: the `Origin` rules, the subprotocols and the limits.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as Layer from "effect/Layer"
 * import { toFetchHandler, type UpgradeSettings } from "websocket-echo/Workers"
 *
 * declare const game: HttpRouter.HttpRouter
 *
 * // Every rule of an upgrade, spelt out: small frames, a steady rate, no client but the game's own page.
 * const rules: UpgradeSettings = {
 *   maxMessageBytes: 4_096,
 *   maxMessagesPerSecond: 30,
 *   idleTimeoutSeconds: 60,
 *   protocols: ["game.v2", "game.v1"],
 *   allowedOrigins: ["https://play.example"],
 *   requireOrigin: true
 * }
 *
 * export default toFetchHandler(game, Layer.empty, rules)
 * ```
 *
 * @since 2.0.0
 */
export type UpgradeSettings = Pick<
  EchoSettings,
  "maxMessageBytes" | "maxMessagesPerSecond" | "idleTimeoutSeconds" | "protocols" | "allowedOrigins" | "requireOrigin"
>

/**
 * Every check a WebSocket handshake passes before a socket exists, in order: the method (405), the `Upgrade`
 * header (426, or 400 where the runtime could not send a 101), `Sec-WebSocket-Version` when present (426 unless
 * 13), the `Origin` (403) and the subprotocols offered (400, for one over `MAX_SUBPROTOCOL_BYTES` too: the socket
 * keeps the one it agrees to, in a room within its attachment). Succeeds with the subprotocol chosen from the client's
 * offers, if it made any. The answer is an `Exit`, an `Effect` that has already run: checking costs no fiber. Every
 * upgrade runs exactly these, once: the echo's and `HttpServerRequest.upgrade`'s under `toFetchHandler`.
 */
export const checkHandshake = (
  request: Request,
  settings: UpgradeSettings
): Exit.Exit<string | undefined, HttpError> => {
  const { method, headers } = request
  if (method !== "GET" && method !== "HEAD") return Exit.fail(new MethodNotAllowed({ method }))
  const upgrade = headers.get("upgrade") ?? undefined
  if (method === "HEAD" || upgrade === undefined || !isWebSocketUpgrade(upgrade)) return Exit.fail(notWebSocket)
  if (!isRuntimeUpgradable(upgrade)) return Exit.fail(new UnsupportedUpgrade({ upgrade }))
  // Absent, the runtime's own handshake decides (an in-process client sends none).
  const version = headers.get("sec-websocket-version")
  if (version !== null && version.trim() !== "13") return Exit.fail(new UnsupportedVersion({ version }))
  const origin = headers.get("origin") ?? undefined
  if (!isOriginAllowed(settings, origin)) return Exit.fail(new OriginNotAllowed({ origin }))
  const header = headers.get("sec-websocket-protocol")
  if (header === null) return Exit.succeed(undefined)
  const tooLong = oversizedSubprotocol(header)
  if (tooLong !== undefined) return Exit.fail(new InvalidSubprotocol({ header, tooLong }))
  const offered = parseSubprotocols(header)
  if (offered === undefined) return Exit.fail(new InvalidSubprotocol({ header }))
  const protocol = chooseSubprotocol(offered, settings.protocols)
  if (protocol === undefined) {
    return Exit.fail(new SubprotocolNotSupported({ offered, supported: settings.protocols }))
  }
  return Exit.succeed(protocol)
}

/** A handshake to the echo that passed every check: what the socket is opened with. */
export interface AcceptedUpgrade {
  /** The subprotocol chosen from the client's offers, if it made any. */
  readonly protocol: string | undefined
  /** The room asked for with `?room=NAME`, if any. */
  readonly room: string | undefined
  /** What the query asked for besides the echo (`noScenario` without a query). */
  readonly scenario: Scenario
}

/**
 * The echo's checks: its query parsed into a `Scenario` (400 for an unknown or invalid parameter, before any
 * other check), then `checkHandshake`; an `Exit`, like it. Each backend runs exactly these, once, in the Worker.
 */
export const checkUpgrade = (request: Request, settings: EchoSettings): Exit.Exit<AcceptedUpgrade, HttpError> => {
  const scenario = parseScenario(request.url, settings)
  if (!isScenario(scenario)) return Exit.fail(scenario)
  return Exit.map(checkHandshake(request, settings), (protocol) => ({ protocol, room: scenario.room, scenario }))
}

/** The options a connection is opened with, from the settings and the agreed subprotocol. */
export const upgradeOptions = (settings: UpgradeSettings, protocol: string | undefined): UpgradeOptions => ({
  maxMessageBytes: settings.maxMessageBytes,
  maxMessagesPerSecond: settings.maxMessagesPerSecond,
  idleTimeoutMs: settings.idleTimeoutSeconds * 1000,
  protocol
})
