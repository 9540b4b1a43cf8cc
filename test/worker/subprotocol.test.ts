import { SELF } from "cloudflare:test"
import { describe, expect, it } from "vitest"
import { Client, serviceWith } from "./socket.js"

const offer = (protocols: string | Array<string>) => {
  const headers = new Headers({ Upgrade: "websocket" })
  for (const line of typeof protocols === "string" ? [protocols] : protocols) {
    headers.append("Sec-WebSocket-Protocol", line)
  }
  return headers
}

describe("subprotocols, with PROTOCOLS empty (wrangler.toml)", () => {
  it("agrees on the client's first offer, answers with exactly that token, and echoes", async () => {
    const response = await SELF.fetch("http://echo.test/echo", { headers: offer("graphql-transport-ws, graphql-ws") })
    expect(response.status).toBe(101)
    expect(response.headers.get("sec-websocket-protocol")).toBe("graphql-transport-ws")
    const client = new Client(response.webSocket as WebSocket)
    client.socket.send("subscribe")
    expect(await client.next()).toBe("echo: subscribe")
    expect(await client.close(1000, "")).toEqual({ code: 1000, reason: "", wasClean: true })
  })

  it("reads offers over several header lines and odd spacing", async () => {
    const response = await SELF.fetch("http://echo.test/echo", { headers: offer([" ,  mqtt ,", "chat"]) })
    expect(response.status).toBe(101)
    expect(response.headers.get("sec-websocket-protocol")).toBe("mqtt")
    new Client(response.webSocket as WebSocket).socket.close(1000)
  })

  it("sends no Sec-WebSocket-Protocol when the client offers none", async () => {
    const response = await SELF.fetch("http://echo.test/echo", { headers: { Upgrade: "websocket" } })
    expect(response.status).toBe(101)
    expect(response.headers.has("sec-websocket-protocol")).toBe(false)
    new Client(response.webSocket as WebSocket).socket.close(1000)
  })

  it("refuses a header that is not a list of unique tokens with 400 JSON, before any socket exists", async () => {
    for (const header of [",", "a b", "chat;v=1", "x, x", '"quoted"']) {
      const response = await SELF.fetch("http://echo.test/echo", { headers: offer(header) })
      expect(response.status, header).toBe(400)
      expect(response.webSocket).toBeNull()
      expect(await response.json()).toEqual({
        error: `Sec-WebSocket-Protocol must be a comma-separated list of unique tokens, got ${JSON.stringify(header)}`,
        code: "INVALID_SUBPROTOCOL"
      })
    }
  })
})

describe("the longest subprotocol (MAX_SUBPROTOCOL_BYTES)", () => {
  it("defect: one request takes a room down: a token over 256 bytes is refused with 400, and the room still serves", async () => {
    const text = "g".repeat(1024)
    const path = `/echo?room=r&greeting=${text}&push=${text}`
    // A socket keeps the subprotocol it agreed to (in a room, within its attachment of at most 16 KiB).
    const refused = await SELF.fetch(`http://echo.test${path}`, { headers: offer("p".repeat(20_000)) })
    expect(refused.status).toBe(400)
    expect(refused.webSocket).toBeNull()
    expect(await refused.json()).toEqual({
      error: "Sec-WebSocket-Protocol tokens must be at most 256 bytes, got one of 20000 bytes",
      code: "INVALID_SUBPROTOCOL"
    })
    const longest = "p".repeat(256)
    const response = await SELF.fetch(`http://echo.test${path}`, { headers: offer(longest) })
    expect(response.status).toBe(101)
    expect(response.headers.get("sec-websocket-protocol")).toBe(longest)
    const client = new Client(response.webSocket as WebSocket)
    expect(await client.next()).toBe(text)
    client.socket.send("still here")
    // The push comes a second after the upgrade, the echo at once: either may come first on a busy machine.
    expect([await client.next(), await client.next()].sort()).toEqual(["echo: still here", text].sort())
    await client.close(1000)
  })
})

describe("subprotocols, with PROTOCOLS = mqtt, chat", () => {
  const handler = serviceWith({ protocols: ["mqtt", "chat"] })
  const upgrade = (protocols: string) => handler(new Request("http://echo.test/echo", { headers: offer(protocols) }))

  it("takes the first of the client's offers that the server speaks", async () => {
    const response = await upgrade("graphql-ws, chat, mqtt")
    expect(response.status).toBe(101)
    expect(response.headers.get("sec-websocket-protocol")).toBe("chat")
    const client = new Client(response.webSocket as WebSocket)
    client.socket.send("hi")
    expect(await client.next()).toBe("echo: hi")
    client.socket.close(1000)
  })

  it("refuses offers it does not speak with 400 JSON naming both lists, and no socket", async () => {
    const response = await upgrade("graphql-ws, Chat")
    expect(response.status).toBe(400)
    expect(response.webSocket).toBeNull()
    expect(await response.json()).toEqual({
      error: "None of the offered subprotocols (graphql-ws, Chat) is supported; this server speaks mqtt, chat",
      code: "SUBPROTOCOL_NOT_SUPPORTED"
    })
  })

  it("still upgrades a client that offers no subprotocol", async () => {
    const response = await handler(new Request("http://echo.test/echo", { headers: { Upgrade: "websocket" } }))
    expect(response.status).toBe(101)
    expect(response.headers.has("sec-websocket-protocol")).toBe(false)
    new Client(response.webSocket as WebSocket).socket.close(1000)
  })
})
