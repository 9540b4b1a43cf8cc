// The plain Worker that a user would write from the Cloudflare docs' WebSocket example, made correct:
// binary frames echo as binary, closes are mirrored, the 426 and /health are ours. Benchmark baseline only; never shipped.
const PREFIX = "echo: "
const PREFIX_BYTES = new TextEncoder().encode(PREFIX)
const NOT_WEBSOCKET = JSON.stringify({
  error: "Expected WebSocket upgrade request (Upgrade: websocket)",
  code: "NOT_WEBSOCKET"
})
const HEALTH = JSON.stringify({ status: "ok" })

export default {
  /** @param {Request} request */
  async fetch(request) {
    const url = new URL(request.url)
    if (url.pathname === "/health") {
      return new Response(HEALTH, { headers: { "content-type": "application/json", "cache-control": "no-store" } })
    }
    if (url.pathname !== "/echo") return new Response("not found", { status: 404 })
    if (request.method !== "GET" || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response(NOT_WEBSOCKET, { status: 426, headers: { "content-type": "application/json" } })
    }
    const [client, server] = Object.values(new WebSocketPair())
    server.binaryType = "arraybuffer"
    server.accept()
    server.addEventListener("message", (event) => {
      if (typeof event.data === "string") {
        server.send(PREFIX + event.data)
        return
      }
      const out = new Uint8Array(PREFIX_BYTES.length + event.data.byteLength)
      out.set(PREFIX_BYTES)
      out.set(new Uint8Array(event.data), PREFIX_BYTES.length)
      server.send(out)
    })
    server.addEventListener("close", (event) => {
      const code = event.code === 1005 || event.code === 1006 ? 1000 : event.code
      try {
        server.close(code, event.reason)
      } catch {
        server.close(1000)
      }
    })
    return new Response(null, { status: 101, webSocket: client })
  }
}
