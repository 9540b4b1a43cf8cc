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
    const handler = handlerWith({ idleTimeoutSeconds: 2 })
    const open = async () => {
      const response = await handler(new Request("http://echo.test/echo", { headers: { Upgrade: "websocket" } }))
      return new Client(response.webSocket as WebSocket)
    }
    // The busy sockets open first, and are never silent for more than a round (300 ms and an echo) of the 2 s
    // timeout while the other 55 open: on two cores shared with every other test file, opening them all takes
    // a while.
    const busy = await Promise.all(Array.from({ length: 5 }, open))
    const opening = Promise.all(Array.from({ length: 55 }, open))
    for (let round = 0; round < 8; round++) {
      for (const [i, client] of busy.entries()) client.socket.send(`${i}.${round}`)
      for (const [i, client] of busy.entries()) expect(await client.next()).toBe(`echo: ${i}.${round}`)
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    const clients = [...busy, ...(await opening)]
    const closes = await Promise.all(clients.map((client) => client.whenClosed()))
    expect(closes).toEqual(clients.map(() => ({ code: 1001, reason: "idle timeout", wasClean: true })))
    // 4.4 s of it is the rounds and the timeout themselves.
  }, 20_000)
})
