/**
 * The echo's procedures for @effect/rpc: `Echo` (one text back, prefixed) and `EchoStream` (`count` of them),
 * the group a client builds from, and `EchoRpcsLive`, their handlers with the configured prefix.
 *
 * @example
 * ```ts
 * import * as RpcClient from "@effect/rpc/RpcClient"
 * import * as Effect from "effect/Effect"
 * import { EchoRpcs } from "websocket-echo/EchoRpcs"
 *
 * export const hello = Effect.flatMap(RpcClient.make(EchoRpcs), (client) => client.Echo({ text: "hello" }))
 * ```
 *
 * @since 2.0.0
 * @module websocket-echo/EchoRpcs
 */
export { EchoRpcs, EmptyText, MAX_STREAM_COUNT } from "./domain/EchoRpcs.js"
export { EchoRpcsLive } from "./runtime/EchoRpc.js"
