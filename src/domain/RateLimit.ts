import * as Data from "effect/Data"
import type { CloseFrame } from "./CloseFrame.js"

/**
 * A token bucket: `ratePerSecond` tokens refill per second, up to a burst of
 * `ratePerSecond`. Mutable on purpose: it is taken from once per message, so
 * it is plain arithmetic on one object of its connection.
 */
export interface TokenBucket {
  readonly ratePerSecond: number
  tokens: number
  updatedAt: number
}

/** A full bucket at `now` (milliseconds). */
export const makeTokenBucket = (ratePerSecond: number, now: number): TokenBucket => ({
  ratePerSecond,
  tokens: ratePerSecond,
  updatedAt: now
})

/** Takes one token at `now` (milliseconds); `false` when the bucket is empty. */
export const takeToken = (bucket: TokenBucket, now: number): boolean => {
  const elapsed = now - bucket.updatedAt
  if (elapsed > 0) {
    bucket.tokens = Math.min(bucket.ratePerSecond, bucket.tokens + (elapsed * bucket.ratePerSecond) / 1000)
    bucket.updatedAt = now
  }
  if (bucket.tokens < 1) return false
  bucket.tokens -= 1
  return true
}

/**
 * A peer sent messages faster than its limit; the message over it is not echoed.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import type { Connection, RateLimitExceeded } from "websocket-echo/Connection"
 *
 * // Opened with { maxMessagesPerSecond: 20 }: the 21st message of a second closes the socket with 1008, and the
 * // run fails with this error.
 * export const serve = (connection: Connection) =>
 *   connection.run((message) => message).pipe(
 *     Effect.catchTag("RateLimitExceeded", (error: RateLimitExceeded) =>
 *       Effect.logWarning(`over ${error.limit} messages a second`)
 *     )
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class RateLimitExceeded extends Data.TaggedError("RateLimitExceeded")<{ readonly limit: number }> {
  override get message() {
    return `more than ${this.limit} messages per second`
  }
}

/** The close frame sent when a peer exceeds its message rate (RFC 6455 §7.4.1: 1008, policy violation). */
export const rateLimited: CloseFrame = { code: 1008, reason: "rate limit" }
