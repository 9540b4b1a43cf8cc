import { env, SELF } from "cloudflare:test"
import { describe, expect, it } from "vitest"
import { Client, connect, serviceWith } from "./socket.js"

const upgrade = (path: string, headers: Record<string, string> = {}) =>
  SELF.fetch(`http://echo.test${path}`, { headers: { Upgrade: "websocket", ...headers } })

/** Upgrades through a service with other settings, and returns the client end. */
const connectWith = async (settings: Parameters<typeof serviceWith>[0], path: string): Promise<Client> => {
  const response = await serviceWith(settings)(
    new Request(`http://echo.test${path}`, { headers: { Upgrade: "websocket" } })
  )
  expect(response.status).toBe(101)
  return new Client(response.webSocket as WebSocket)
}

/** The next `count` messages, in order. */
const next = async (client: Client, count: number) => {
  const messages: Array<string | ArrayBuffer> = []
  for (let i = 0; i < count; i++) messages.push(await client.next())
  return messages
}

/** Waits for the server's close and answers it, as a client must. */
const answered = async (client: Client) => {
  const closed = await client.whenClosed()
  client.socket.close(closed.code, closed.reason)
  return { code: closed.code, reason: closed.reason }
}

const unique = () => crypto.randomUUID().slice(0, 8)

describe(`the behaviour parameters (${env.ECHO_BACKEND === "durable-object" ? "durable-object" : env.ECHO_PIPELINE})`, () => {
  it("sends the info, then the greeting, then the echoes", async () => {
    const client = await connect("/echo?info=true&greeting=h%C3%A9llo%20%E2%82%AC%20%F0%9F%91%8B", {
      "Sec-WebSocket-Protocol": "chat",
      Authorization: "Bearer secret",
      "X-Trace": "t-1"
    })
    const info = JSON.parse((await client.next()) as string)
    expect(info).toMatchObject({
      method: "GET",
      url: "http://echo.test/echo?info=true&greeting=h%C3%A9llo%20%E2%82%AC%20%F0%9F%91%8B",
      httpVersion: "HTTP/1.1",
      protocol: "chat",
      headers: { authorization: "<redacted>", "x-trace": "t-1", upgrade: "websocket" },
      cloudflare: { present: false }
    })
    expect(info.connection).toMatch(/^[0-9a-f-]{36}$/)
    expect(await client.next()).toBe("héllo € 👋")
    client.socket.send("a")
    expect(await client.next()).toBe("echo: a")
    await client.close(1000)
  })

  it("closes with the code and reason asked for after N echoes, and echoes nothing after them", async () => {
    const client = await connect("/echo?close_code=4001&close_reason=bye&close_after=2")
    for (const text of ["a", "b", "c"]) client.socket.send(text)
    expect(await next(client, 2)).toEqual(["echo: a", "echo: b"])
    expect(await answered(client)).toEqual({ code: 4001, reason: "bye" })
  })

  it("closes right after the greeting when no after parameter is given, with 1000 by default", async () => {
    const first = await connect("/echo?greeting=hi&close_code=3000&close_reason=at%20once")
    expect(await first.next()).toBe("hi")
    expect(await answered(first)).toEqual({ code: 3000, reason: "at once" })
    const second = await connect("/echo?close_after_ms=30")
    expect(await answered(second)).toEqual({ code: 1000, reason: "" })
  })

  it("takes the longest greeting, push and reason there are", async () => {
    const long = "g".repeat(1024)
    const client = await connect(
      `/echo?greeting=${long}&push=${long}&push_every_ms=10&close_after_ms=500&close_reason=${"r".repeat(123)}`
    )
    expect(await next(client, 2)).toEqual([long, long])
    expect(await answered(client)).toEqual({ code: 1000, reason: "r".repeat(123) })
  })

  it("sends every echo after delay_ms, in order", async () => {
    const client = await connect("/echo?delay_ms=50")
    for (const text of ["1", "2", "3"]) client.socket.send(text)
    expect(await next(client, 3)).toEqual(["echo: 1", "echo: 2", "echo: 3"])
    await client.close(1000)
  })

  it("pushes push_count times alongside the echoes, and no more", async () => {
    // The close follows the one echo, and the echo is asked for only after the third push: no timer races another.
    const client = await connect("/echo?push=tick&push_every_ms=20&push_count=3&close_after=1")
    expect(await next(client, 3)).toEqual(["tick", "tick", "tick"])
    client.socket.send("x")
    expect(await next(client, 1)).toEqual(["echo: x"])
    expect(await answered(client)).toEqual({ code: 1000, reason: "" })
    expect(client.unread).toBe(0)
  })

  it("keeps 20 sockets' delayed echoes and pushes in their own requests, each in order", async () => {
    const clients = await Promise.all(
      Array.from({ length: 20 }, () => connect("/echo?delay_ms=20&push=p&push_every_ms=15&push_count=2"))
    )
    for (const [i, client] of clients.entries()) for (const n of [1, 2, 3]) client.socket.send(`${i}.${n}`)
    for (const [i, client] of clients.entries()) {
      const received = await next(client, 5)
      expect(received.filter((message) => message !== "p")).toEqual([`echo: ${i}.1`, `echo: ${i}.2`, `echo: ${i}.3`])
      expect(received.filter((message) => message === "p")).toHaveLength(2)
    }
    await Promise.all(clients.map((client) => client.close(1000)))
  })

  it("refuses the upgrade with the status, Retry-After and JSON asked for, and opens no socket", async () => {
    const response = await upgrade("/echo?reject=503&retry_after=7&greeting=never")
    expect(response.status).toBe(503)
    expect(response.webSocket).toBeNull()
    expect(response.headers.get("retry-after")).toBe("7")
    expect(await response.json()).toEqual({
      error: "Upgrade refused with 503, as the request asked (reject=503)",
      code: "REJECTED_ON_REQUEST"
    })
    const plain = await upgrade("/echo?reject=429")
    expect(plain.status).toBe(429)
    expect(plain.headers.get("retry-after")).toBeNull()
    await plain.arrayBuffer()
  })

  it("sends the 101 after accept_delay_ms, and the socket echoes", async () => {
    const client = await connect("/echo?accept_delay_ms=50")
    client.socket.send("late")
    expect(await client.next()).toBe("echo: late")
    await client.close(1000)
  })

  it("stalled, sends nothing, leaves the close unanswered, and ends at the idle timeout with 1001", async () => {
    const client = await connectWith(
      { idleTimeoutSeconds: 1 },
      "/echo?stall=true&greeting=never&push=never&push_every_ms=10"
    )
    client.socket.send("anyone?")
    client.socket.close(1000, "bye")
    expect(await client.whenClosed()).toMatchObject({ code: 1001, reason: "idle timeout" })
    // Messages arrive before the close that follows them: none came.
    expect(client.unread).toBe(0)
  })

  it("broadcasts each message, prefixed, to every broadcast socket of the room, and keeps a room to its limit", async () => {
    const room = `b-${unique()}`
    const service = serviceWith({ maxRoomSockets: 2 })
    const open = async () => {
      const response = await service(
        new Request(`http://echo.test/echo?broadcast=true&room=${room}`, { headers: { Upgrade: "websocket" } })
      )
      return response
    }
    const [a, b] = await Promise.all([open(), open()])
    const first = new Client(a.webSocket as WebSocket)
    const second = new Client(b.webSocket as WebSocket)
    const full = await open()
    expect(full.status).toBe(503)
    expect(await full.json()).toEqual({
      error: `Room "${room}" is full: it holds 2 sockets, the most a room may`,
      code: "ROOM_FULL"
    })
    first.socket.send("to all")
    expect(await first.next()).toBe("echo: to all")
    expect(await second.next()).toBe("echo: to all")
    second.socket.send("back")
    expect(await first.next()).toBe("echo: back")
    expect(await second.next()).toBe("echo: back")
    await Promise.all([first.close(1000), second.close(1000)])
  })

  it("answers a bad or unknown parameter with 400 JSON, before the handshake", async () => {
    const bad = await SELF.fetch("http://echo.test/echo?delay_ms=10001")
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({
      error: 'delay_ms must be an integer from 0 to 10000, got "10001"',
      code: "INVALID_PARAMETER"
    })
    const unknown = await upgrade("/echo?dealy_ms=1")
    expect(unknown.status).toBe(400)
    expect(await unknown.json()).toMatchObject({ code: "UNKNOWN_PARAMETER" })
    const plain = await SELF.fetch("http://echo.test/echo?delay_ms=10")
    expect(plain.status).toBe(426)
    await plain.arrayBuffer()
  })

  it("GET /whoami shows what the server sees, with credentials redacted", async () => {
    const response = await SELF.fetch("http://echo.test/whoami?x=1", {
      headers: { Cookie: "session=1", Authorization: "Basic abc", "X-Forwarded-For": "10.0.0.1" }
    })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("application/json")
    const body = await response.json()
    expect(body).toMatchObject({
      method: "GET",
      url: "http://echo.test/whoami?x=1",
      headers: { cookie: "<redacted>", authorization: "<redacted>", "x-forwarded-for": "10.0.0.1" },
      cloudflare: { present: false }
    })
    const posted = await SELF.fetch("http://echo.test/whoami", { method: "POST" })
    expect(posted.status).toBe(405)
    await posted.arrayBuffer()
  })

  it("with TEST_BEHAVIOURS off knows only room, and has no /whoami", async () => {
    const service = serviceWith({ testBehaviours: false })
    const refused = await service(
      new Request("http://echo.test/echo?close_code=4000", { headers: { Upgrade: "websocket" } })
    )
    expect(refused.status).toBe(400)
    expect(await refused.json()).toEqual({
      error: 'Unknown parameter "close_code"; the known ones are room',
      code: "UNKNOWN_PARAMETER"
    })
    expect((await service(new Request("http://echo.test/whoami"))).status).toBe(404)
    const response = await service(
      new Request(`http://echo.test/echo?room=r-${unique()}`, { headers: { Upgrade: "websocket" } })
    )
    expect(response.status).toBe(101)
    const client = new Client(response.webSocket as WebSocket)
    client.socket.send("hi")
    expect(await client.next()).toBe("echo: hi")
    await client.close(1000)
  })
})
