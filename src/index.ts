/**
 * websocket-echo for Effect apps on Workers, as namespaces. Each is also its own module, imported by path
 * (`websocket-echo/Workers`), which is what an app that uses one of them should import.
 *
 * @example
 * ```ts
 * import { EchoServer, Workers } from "websocket-echo"
 *
 * export default Workers.toFetchHandler(EchoServer.EchoRouter, EchoServer.EchoConfig.layerWith())
 * ```
 *
 * @since 2.0.0
 * @module websocket-echo
 */
export * as Connection from "./Connection.js"
export * as ConnectionMachine from "./ConnectionMachine.js"
export * as EchoRooms from "./EchoRooms.js"
export * as EchoRpcs from "./EchoRpcs.js"
export * as EchoServer from "./EchoServer.js"
export * as HttpError from "./HttpError.js"
export * as Workers from "./Workers.js"
