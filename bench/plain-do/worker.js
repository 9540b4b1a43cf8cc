// A hibernating Durable Object echo as a user would write it from the Cloudflare docs' hibernation example,
// made correct: one object per connection (a random name, or `?room=` to share one), binary frames echo as
// binary, closes are mirrored like plain/worker.js, the 426 and /health are ours. Benchmark baseline only.
import { DurableObject } from "cloudflare:workers"

const PREFIX = "echo: "
const PREFIX_BYTES = new TextEncoder().encode(PREFIX)
const NOT_WEBSOCKET = JSON.stringify({
  error: "Expected WebSocket upgrade request (Upgrade: websocket)",
  code: "NOT_WEBSOCKET"
})
const HEALTH = JSON.stringify({ status: "ok" })

export class EchoRoom extends DurableObject {
  /** @param {Request} _request */
  async fetch(_request) {
    const [client, server] = Object.values(new WebSocketPair())
    // Hibernatable: the runtime holds the socket and calls the handlers below, waking the object if needed.
    this.ctx.acceptWebSocket(server)
    return new Response(null, { status: 101, webSocket: client })
  }

  /**
   * @param {WebSocket} ws
   * @param {string | ArrayBuffer} message
   */
  async webSocketMessage(ws, message) {
    if (typeof message === "string") {
      ws.send(PREFIX + message)
      return
    }
    const out = new Uint8Array(PREFIX_BYTES.length + message.byteLength)
    out.set(PREFIX_BYTES)
    out.set(new Uint8Array(message), PREFIX_BYTES.length)
    ws.send(out)
  }

  /**
   * @param {WebSocket} ws
   * @param {number} code
   * @param {string} reason
   */
  async webSocketClose(ws, code, reason) {
    const mirrored = code === 1005 || code === 1006 ? 1000 : code
    try {
      ws.close(mirrored, reason)
    } catch {
      ws.close(1000)
    }
  }
}

export default {
  /**
   * @param {Request} request
   * @param {{ ECHO_ROOMS: DurableObjectNamespace }} env
   */
  async fetch(request, env) {
    const url = new URL(request.url)
    if (url.pathname === "/health") {
      return new Response(HEALTH, { headers: { "content-type": "application/json", "cache-control": "no-store" } })
    }
    if (url.pathname !== "/echo") return new Response("not found", { status: 404 })
    if (request.method !== "GET" || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response(NOT_WEBSOCKET, { status: 426, headers: { "content-type": "application/json" } })
    }
    const room = url.searchParams.get("room") ?? crypto.randomUUID()
    return env.ECHO_ROOMS.get(env.ECHO_ROOMS.idFromName(room)).fetch(request)
  }
}
