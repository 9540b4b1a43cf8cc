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
    // A Client, so that the socket is closed after the test: left open, its request lived on past the file.
    const client = new Client(allowed.webSocket as WebSocket)
    client.socket.send("listed")
    expect(await client.next()).toBe("echo: listed")
  })

  it("closes each of 60 idle sockets with 1001 from its own timer, while busy ones stay open", async () => {
    const handler = handlerWith({ idleTimeoutSeconds: 3 })
    const open = async () => {
      const response = await handler(new Request("http://echo.test/echo", { headers: { Upgrade: "websocket" } }))
      return new Client(response.webSocket as WebSocket)
    }
    // The busy sockets echo every 100 ms until every idle one has closed, so none of them is silent for more than
    // that and a round trip, a fraction of the 3 s timeout; the idle ones close on their own timers meanwhile.
    const busy = await Promise.all(Array.from({ length: 5 }, open))
    let idleClosed = false
    const pumping = busy.map(async (client, i) => {
      for (let n = 0; !idleClosed; n++) {
        client.socket.send(`${i}.${n}`)
        expect(await client.next()).toBe(`echo: ${i}.${n}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })
    try {
      const idle = await Promise.all(Array.from({ length: 55 }, open))
      const idleCloses = await Promise.all(idle.map((client) => client.whenClosed()))
      expect(idleCloses).toEqual(idle.map(() => ({ code: 1001, reason: "idle timeout", wasClean: true })))
    } finally {
      idleClosed = true
    }
    await Promise.all(pumping)
    expect(busy.map((client) => client.socket.readyState)).toEqual(busy.map(() => WebSocket.OPEN))
    // Then silent, the busy ones are closed the same way.
    const busyCloses = await Promise.all(busy.map((client) => client.whenClosed()))
    expect(busyCloses).toEqual(busy.map(() => ({ code: 1001, reason: "idle timeout", wasClean: true })))
  }, 30_000)
})
