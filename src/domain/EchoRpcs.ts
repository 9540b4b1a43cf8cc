import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"

/** `Echo` was asked to echo the empty string: a typed failure that crosses the wire. */
export class EmptyText extends Schema.TaggedError<EmptyText>()("EmptyText", {}) {}

/** The most items one `EchoStream` call may ask for. */
export const MAX_STREAM_COUNT = 1000

/**
 * The echo as @effect/rpc procedures, served over WebSocket at `GET /rpc`: a wire contract that other clients
 * rely on.
 * - `Echo({ text })` succeeds with the prefix and `text`, or fails with `EmptyText` when `text` is empty.
 * - `EchoStream({ text, count })` streams `count` (1 … 1000) strings, the prefix, `text`, a space and 1 … `count`.
 */
export class EchoRpcs extends RpcGroup.make(
  Rpc.make("Echo", { payload: { text: Schema.String }, success: Schema.String, error: EmptyText }),
  Rpc.make("EchoStream", {
    payload: { text: Schema.String, count: Schema.Int.pipe(Schema.between(1, MAX_STREAM_COUNT)) },
    success: Schema.String,
    stream: true
  })
) {}
