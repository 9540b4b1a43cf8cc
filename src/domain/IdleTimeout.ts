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

/** A connection carried no message either way for its idle timeout; it is closed with `idleTimeout`. */
export class IdleTimeoutExpired extends Data.TaggedError("IdleTimeoutExpired") {
  override readonly message = "no message either way for the idle timeout"
}
