// An echo Worker as a Hono user would write it, with Hono's documented `upgradeWebSocket` for Cloudflare
// Workers: binary frames echo as binary, closes are mirrored like plain/worker.js, the 426 and /health are
// ours. Benchmark comparison only; never shipped.
import { Hono } from "hono"
import { upgradeWebSocket } from "hono/cloudflare-workers"

const PREFIX = "echo: "
const PREFIX_BYTES = new TextEncoder().encode(PREFIX)

const app = new Hono()

app.get("/health", (c) => c.json({ status: "ok" }, 200, { "cache-control": "no-store" }))

app.get(
  "/echo",
  // Hono's adapter accepts the socket itself; at this compatibility date binary frames arrive as ArrayBuffer.
  upgradeWebSocket(() => ({
    onMessage(event, ws) {
      const data = event.data
      if (typeof data === "string") {
        ws.send(PREFIX + data)
        return
      }
      const out = new Uint8Array(PREFIX_BYTES.length + data.byteLength)
      out.set(PREFIX_BYTES)
      out.set(new Uint8Array(data), PREFIX_BYTES.length)
      ws.send(out)
    },
    onClose(event, ws) {
      const code = event.code === 1005 || event.code === 1006 ? 1000 : event.code
      try {
        ws.close(code, event.reason)
      } catch {
        ws.close(1000)
      }
    }
  })),
  // Reached when the request is not an upgrade (the adapter calls next()).
  (c) => c.json({ error: "Expected WebSocket upgrade request (Upgrade: websocket)", code: "NOT_WEBSOCKET" }, 426)
)

export default app
