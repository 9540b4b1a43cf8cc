/**
 * The echo's rooms: sockets that live in a hibernating Durable Object, for `?room=NAME`, `broadcast=true` and
 * `ECHO_BACKEND=durable-object`. Export `EchoRoom` from the Worker, bind it (wrangler.toml's
 * `[[durable_objects.bindings]]`, with a `new_sqlite_classes` migration), and provide `EchoRooms.layer` over
 * the binding: without it, a room upgrade gets 501 `ROOMS_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as Layer from "effect/Layer"
 * import { EchoRooms } from "websocket-echo/EchoRooms"
 * import { EchoConfig, EchoRouter } from "websocket-echo/EchoServer"
 * import { toFetchHandler } from "websocket-echo/Workers"
 *
 * export { EchoRoom } from "websocket-echo/EchoRooms"
 *
 * declare const rooms: DurableObjectNamespace
 * export default toFetchHandler(
 *   HttpRouter.empty.pipe(HttpRouter.concat(EchoRouter)),
 *   Layer.merge(EchoConfig.layerWith({ testBehaviours: true }), EchoRooms.layer(rooms))
 * )
 * ```
 *
 * @since 2.0.0
 * @module websocket-echo/EchoRooms
 */
export { EchoRoom } from "./runtime/EchoRoom.js"
export { EchoRooms } from "./services/EchoRooms.js"
