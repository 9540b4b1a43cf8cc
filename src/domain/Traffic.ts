import { byteLength, type Message } from "./Message.js"
import { MessageTooLarge } from "./MessageTooLarge.js"
import { makeTokenBucket, RateLimitExceeded, type TokenBucket, takeToken } from "./RateLimit.js"

/**
 * What a connection has carried so far.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import type { Connection, ConnectionStats } from "websocket-echo/Connection"
 *
 * const summary = ({ messagesIn, bytesIn, messagesOut, bytesOut }: ConnectionStats) =>
 *   `${messagesIn} messages in (${bytesIn} bytes), ${messagesOut} out (${bytesOut} bytes)`
 *
 * export const report = (connection: Connection) =>
 *   Effect.flatMap(connection.stats, (stats) => Effect.logInfo(summary(stats)))
 * ```
 *
 * @since 2.0.0
 */
export interface ConnectionStats {
  readonly messagesIn: number
  readonly bytesIn: number
  readonly messagesOut: number
  readonly bytesOut: number
}

/** The per-connection limits on what a peer may send. */
export interface Limits {
  /** The largest message accepted, in bytes (UTF-8 bytes for text). */
  readonly maxMessageBytes: number
  /** The most messages accepted per second, burst included; 0 for no limit. */
  readonly maxMessagesPerSecond: number
}

/**
 * A connection's counters, its last activity and its rate-limit bucket: plain
 * data, mutated in place once per message, so that it costs no allocation on
 * the hot path and can be stored as it is (a Durable Object's socket attachment).
 */
export interface Traffic {
  messagesIn: number
  bytesIn: number
  messagesOut: number
  bytesOut: number
  /** Time (ms) of the last message either way, or of the upgrade if none. */
  lastActivity: number
  /** Present only when the rate is limited. */
  readonly bucket: TokenBucket | null
}

/** The traffic of a connection opened at `now` (ms). */
export const makeTraffic = (limits: Limits, now: number): Traffic => ({
  messagesIn: 0,
  bytesIn: 0,
  messagesOut: 0,
  bytesOut: 0,
  lastActivity: now,
  bucket: limits.maxMessagesPerSecond > 0 ? makeTokenBucket(limits.maxMessagesPerSecond, now) : null
})

/**
 * Admits a message from the peer at `now`: counts it and returns `undefined`,
 * or returns why it may not be echoed (too large, or over the rate). Every
 * echo program and backend takes each incoming message through this.
 */
export const admit = (
  traffic: Traffic,
  limits: Limits,
  message: Message,
  now: number
): MessageTooLarge | RateLimitExceeded | undefined => {
  traffic.lastActivity = now
  const size = byteLength(message)
  if (size > limits.maxMessageBytes) return new MessageTooLarge({ size, limit: limits.maxMessageBytes })
  if (traffic.bucket !== null && !takeToken(traffic.bucket, now)) {
    return new RateLimitExceeded({ limit: limits.maxMessagesPerSecond })
  }
  traffic.messagesIn++
  traffic.bytesIn += size
  return undefined
}

/** Counts a message from the peer that is not admitted (one read after a close frame), without the limits. */
export const countReceived = (traffic: Traffic, message: Message): void => {
  traffic.messagesIn++
  traffic.bytesIn += byteLength(message)
}

/** Counts a message sent to the peer at `now`. */
export const countSent = (traffic: Traffic, message: Message, now: number): void => {
  traffic.messagesOut++
  traffic.bytesOut += byteLength(message)
  traffic.lastActivity = now
}

/** The counters alone, as a snapshot. */
export const statsOf = ({ messagesIn, bytesIn, messagesOut, bytesOut }: Traffic): ConnectionStats => ({
  messagesIn,
  bytesIn,
  messagesOut,
  bytesOut
})
