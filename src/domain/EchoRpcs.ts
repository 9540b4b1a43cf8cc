import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"

/**
 * `Echo` was asked to echo the empty string: a typed failure that crosses the wire.
 *
 * @example
 * ```ts
 * import * as RpcClient from "@effect/rpc/RpcClient"
 * import * as Effect from "effect/Effect"
 * import { EchoRpcs, type EmptyText } from "websocket-echo/EchoRpcs"
 *
 * // Nothing to echo is an answer of its own, not a failure of the call.
 * export const echoOrNothing = (text: string) =>
 *   Effect.flatMap(RpcClient.make(EchoRpcs), (client) => client.Echo({ text })).pipe(
 *     Effect.catchTag("EmptyText", (_: EmptyText) => Effect.succeed(""))
 *   )
 * ```
 *
 * @since 2.0.0
 */
export class EmptyText extends Schema.TaggedError<EmptyText>()("EmptyText", {}) {}

/**
 * The most items one `EchoStream` call may ask for.
 *
 * @example
 * ```ts
 * import * as RpcClient from "@effect/rpc/RpcClient"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 * import { EchoRpcs, MAX_STREAM_COUNT } from "websocket-echo/EchoRpcs"
 *
 * // A count past the limit fails its schema: ask for at most MAX_STREAM_COUNT.
 * export const countdown = (count: number) =>
 *   Effect.flatMap(RpcClient.make(EchoRpcs), (client) =>
 *     Stream.runCollect(client.EchoStream({ text: "tick", count: Math.min(count, MAX_STREAM_COUNT) }))
 *   )
 * ```
 *
 * @since 2.0.0
 */
export const MAX_STREAM_COUNT = 1000

/**
 * The echo as @effect/rpc procedures, served over WebSocket at `GET /rpc`: a wire contract that other clients
 * rely on.
 * - `Echo({ text })` succeeds with the prefix and `text`, or fails with `EmptyText` when `text` is empty.
 * - `EchoStream({ text, count })` streams `count` (1 … 1000) strings, the prefix, `text`, a space and 1 … `count`.
 *
 * @example
 * ```ts
 * import * as RpcClient from "@effect/rpc/RpcClient"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 * import { EchoRpcs } from "websocket-echo/EchoRpcs"
 *
 * export const program = Effect.gen(function* () {
 *   const client = yield* RpcClient.make(EchoRpcs)
 *   const one = yield* client.Echo({ text: "hello" }) // "echo: hello"
 *   // "echo: hi 1", "echo: hi 2", "echo: hi 3"
 *   const three = yield* Stream.runCollect(client.EchoStream({ text: "hi", count: 3 }))
 *   return [one, ...three]
 * })
 * ```
 *
 * @since 2.0.0
 */
export class EchoRpcs extends RpcGroup.make(
  Rpc.make("Echo", { payload: { text: Schema.String }, success: Schema.String, error: EmptyText }),
  Rpc.make("EchoStream", {
    payload: { text: Schema.String, count: Schema.Int.pipe(Schema.between(1, MAX_STREAM_COUNT)) },
    success: Schema.String,
    stream: true
  })
) {}
