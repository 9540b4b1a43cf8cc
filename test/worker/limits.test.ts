import { SELF } from "cloudflare:test"
import { describe, expect, it } from "vitest"
import { Client, serviceWith } from "./socket.js"

describe("compression", () => {
  it("declines permessage-deflate (no_web_socket_compression): the 101 names no extension", async () => {
    const response = await SELF.fetch("http://echo.test/echo", {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" }
    })
    expect(response.status).toBe(101)
    expect(response.headers.get("sec-websocket-extensions")).toBeNull()
    const client = new Client(response.webSocket as WebSocket)
    client.socket.send("plain")
    expect(await client.next()).toBe("echo: plain")
  })
})

describe("abuse limits in workerd", () => {
  const handlerWith = serviceWith

  it("answers an unlisted Origin with 403 JSON and upgrades a listed one", async () => {
    const handler = handlerWith({ allowedOrigins: ["https://app.example"] })
    const refused = await handler(
      new Request("http://echo.test/echo", { headers: { Upgrade: "websocket", Origin: "https://evil.example" } })
    )
    expect(refused.status).toBe(403)
    expect(refused.webSocket).toBeNull()
    expect(await refused.json()).toEqual({
      error: 'Origin "https://evil.example" is not allowed',
      code: "ORIGIN_NOT_ALLOWED"
    })
    const allowed = await handler(
      new Request("http://echo.test/echo", { headers: { Upgrade: "websocket", Origin: "https://APP.example:443" } })
    )
    expect(allowed.status).toBe(101)
  })

  it("closes each of 60 idle sockets with 1001 from its own timer, while busy ones stay open", async () => {
    const handler = handlerWith({ idleTimeoutSeconds: 1 })
    const open = async () => {
      const response = await handler(new Request("http://echo.test/echo", { headers: { Upgrade: "websocket" } }))
      return new Client(response.webSocket as WebSocket)
    }
    const clients = await Promise.all(Array.from({ length: 60 }, open))
    const busy = clients.slice(0, 5)
    // Busy sockets talk every 300 ms for 1.5 s: never silent for the whole timeout.
    for (let round = 0; round < 5; round++) {
      for (const [i, client] of busy.entries()) client.socket.send(`${i}.${round}`)
      for (const [i, client] of busy.entries()) expect(await client.next()).toBe(`echo: ${i}.${round}`)
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    const closes = await Promise.all(clients.map((client) => client.whenClosed()))
    expect(closes).toEqual(clients.map(() => ({ code: 1001, reason: "idle timeout", wasClean: true })))
    // 2.5 s of it is the timeouts themselves; the workerd projects share two cores with every other test file.
  }, 15_000)
})
