import * as Data from "effect/Data"

/** A message larger than the configured limit arrived; it is not echoed. */
export class MessageTooLarge extends Data.TaggedError("MessageTooLarge")<{
  readonly size: number
  readonly limit: number
}> {
  override get message() {
    return `message of ${this.size} bytes exceeds the limit of ${this.limit} bytes`
  }
}
