import * as Socket from "@effect/platform/Socket"
import * as Layer from "effect/Layer"
import WebSocket from "ws"
import { within } from "./wsClient.js"

/**
 * @effect/platform's `Socket.WebSocketConstructor` on Node 20, which has no global `WebSocket`: the `ws`
 * package, whose `addEventListener` is all `Socket.fromWebSocket` needs (binary frames arrive as `Buffer`,
 * a `Uint8Array`). Every socket it makes is kept in `opened`, reconnects included, so that a test can check
 * that each one ended closed.
 */
export const webSocketConstructor = (): {
  readonly layer: Layer.Layer<Socket.WebSocketConstructor>
  readonly opened: ReadonlyArray<WebSocket>
} => {
  const opened: Array<WebSocket> = []
  const layer = Layer.succeed(Socket.WebSocketConstructor, (url, protocols) => {
    const socket = new WebSocket(url, protocols, { maxPayload: 64 * 1024 * 1024 })
    // A socket closed while it is still connecting emits `error` after `fromWebSocket` has stopped listening;
    // with no listener, `ws` would throw it. The close that follows is what the test looks at.
    socket.on("error", () => {})
    opened.push(socket)
    return socket as unknown as globalThis.WebSocket
  })
  return { layer, opened }
}

/** Resolves once every socket is closed (`readyState` CLOSED), or fails naming how many are not. */
export const allClosed = (sockets: ReadonlyArray<WebSocket>): Promise<void> =>
  within(
    Promise.all(
      sockets.map((socket) =>
        socket.readyState === WebSocket.CLOSED ? undefined : new Promise((resolve) => socket.once("close", resolve))
      )
    ).then(() => undefined),
    () =>
      `close of ${sockets.filter((socket) => socket.readyState !== WebSocket.CLOSED).length} of ${sockets.length} sockets`
  )
