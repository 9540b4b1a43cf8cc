import * as Data from "effect/Data"
import type { CloseFrame } from "./CloseFrame.js"

/** The close frame sent to a socket idle for too long (RFC 6455 §7.4.1: 1001, going away). */
export const idleTimeout: CloseFrame = { code: 1001, reason: "idle timeout" }

/** When a socket whose last message (either way) was at `lastActivity` has been idle for `timeoutMs`. */
export const idleAt = (lastActivity: number, timeoutMs: number): number => lastActivity + timeoutMs

/**
 * How long a socket whose last message (either way) was at `lastActivity` may
 * still stay silent at `now`; zero or less means it has been idle too long.
 */
export const idleRemainingMs = (lastActivity: number, now: number, timeoutMs: number): number =>
  idleAt(lastActivity, timeoutMs) - now

/**
 * A connection carried no message either way for its idle timeout; it is closed with `idleTimeout`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 * import { type Connection, IdleTimeoutExpired } from "websocket-echo/Connection"
 *
 * // Silence is how this app's sockets end (closed with 1001): not an error.
 * export const serve = (connection: Connection) =>
 *   Stream.runForEach(connection.messages, (message) => connection.send(message)).pipe(
 *     Effect.catchIf((error) => error instanceof IdleTimeoutExpired, () => Effect.void)
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class IdleTimeoutExpired extends Data.TaggedError("IdleTimeoutExpired") {
  override readonly message = "no message either way for the idle timeout"
}
