import * as Data from "effect/Data"

/**
 * A message larger than the configured limit arrived; it is not echoed.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import type { Connection, MessageTooLarge } from "websocket-echo/Connection"
 *
 * // The socket is closed with 1009 already; the app logs what the peer tried.
 * export const serve = (connection: Connection) =>
 *   connection.run((message) => message).pipe(
 *     Effect.catchTag("MessageTooLarge", (error: MessageTooLarge) =>
 *       Effect.logWarning(`refused ${error.size} bytes, over ${error.limit}`)
 *     )
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class MessageTooLarge extends Data.TaggedError("MessageTooLarge")<{
  readonly size: number
  readonly limit: number
}> {
  override get message() {
    return `message of ${this.size} bytes exceeds the limit of ${this.limit} bytes`
  }
}
