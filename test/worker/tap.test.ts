import { env, runInDurableObject, SELF } from "cloudflare:test"
import { describe, expect, it } from "vitest"
import { MAX_TAP_EVENTS, MAX_TAP_HISTORY_BYTES, type TapEvent } from "../../src/domain/TapEvent.js"
import { EchoTap } from "../../src/runtime/EchoTap.js"
import { Client, connect, serviceWith } from "./socket.js"

const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
const DO = env.ECHO_BACKEND === "durable-object"
const tapObject = (name: string) => env.ECHO_TAPS.get(env.ECHO_TAPS.idFromName(name))
/** A random tap name, as the README asks: whoever knows it reads the traffic. */
const tapName = () => `t-${crypto.randomUUID()}`

/** A watcher of tap `name`: its events, parsed, one `next` at a time. */
class Watcher {
  constructor(readonly client: Client) {}

  async next(): Promise<TapEvent> {
    const message = await this.client.next()
    expect(typeof message).toBe("string")
    return JSON.parse(message as string) as TapEvent
  }

  /** The next `n` events. */
  async take(n: number): Promise<Array<TapEvent>> {
    const events: Array<TapEvent> = []
    for (let i = 0; i < n; i++) events.push(await this.next())
    return events
  }

  /** Events until (and with) the `end` of `connection`. */
  async untilEnd(connection?: string): Promise<Array<TapEvent>> {
    const events: Array<TapEvent> = []
    for (;;) {
      const event = await this.next()
      events.push(event)
      if (event.type === "end" && (connection === undefined || event.connection === connection)) return events
    }
  }
}

const watch = async (name: string, fetch: (request: Request) => Promise<Response> = (r) => SELF.fetch(r)) => {
  const response = await fetch(new Request(`http://echo.test/tap/${name}`, { headers: { Upgrade: "websocket" } }))
  expect(response.status).toBe(101)
  return new Watcher(new Client(response.webSocket as WebSocket))
}

const history = async (name: string): Promise<Array<TapEvent>> => {
  const response = await SELF.fetch(`http://echo.test/tap/${name}`)
  expect(response.status).toBe(200)
  expect(response.headers.get("content-type")).toBe("application/json")
  return (await response.json()) as Array<TapEvent>
}

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
const message = (direction: "in" | "out", kind: "text" | "binary", bytes: number, preview: string, truncated = false) =>
  expect.objectContaining({ type: "message", at: ISO, direction, kind, bytes, preview, truncated })
const close = (by: "peer" | "server" | "transport", code: number | null, reason: string) =>
  expect.objectContaining({ type: "close", at: ISO, by, code, reason })

describe("a tapped socket (/echo?tap=NAME)", () => {
  it("echoes as untapped and publishes open, message in and out, both close frames and the end, in order", async () => {
    const name = tapName()
    const watcher = await watch(name)
    const client = await connect(`/echo?tap=${name}`, {
      "Sec-WebSocket-Protocol": "chat, superchat",
      Cookie: "session=secret",
      "X-Probe": "seen"
    })
    client.socket.send("hello")
    expect(await client.next()).toBe("echo: hello")
    client.socket.send("héllo €")
    expect(await client.next()).toBe("echo: héllo €")
    client.socket.send(new Uint8Array([0xde, 0xad, 0xbe, 0xef]))
    expect(Array.from(new Uint8Array((await client.next()) as ArrayBuffer))).toEqual([
      ...new TextEncoder().encode("echo: "),
      0xde,
      0xad,
      0xbe,
      0xef
    ])
    expect(await client.close(4001, "bye")).toEqual({ code: 4001, reason: "bye", wasClean: true })

    const events = await watcher.untilEnd()
    const id = events[0]?.connection
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(events.every((event) => event.connection === id)).toBe(true)
    expect(events[0]).toEqual({
      type: "open",
      connection: id,
      at: ISO,
      request: {
        method: "GET",
        url: `http://echo.test/echo?tap=${name}`,
        httpVersion: "HTTP/1.1",
        ip: null,
        headers: expect.objectContaining({ cookie: "<redacted>", "x-probe": "seen", upgrade: "websocket" }),
        cloudflare: expect.objectContaining({ present: expect.any(Boolean) })
      },
      offered: ["chat", "superchat"],
      protocol: "chat",
      behaviours: []
    })
    expect(events.slice(1)).toEqual([
      message("in", "text", 5, "hello"),
      message("out", "text", 11, "echo: hello"),
      message("in", "text", 10, "héllo €"),
      message("out", "text", 16, "echo: héllo €"),
      message("in", "binary", 4, "deadbeef"),
      message("out", "binary", 10, "6563686f3a20deadbeef"),
      close("peer", 4001, "bye"),
      close("server", 4001, "bye"),
      {
        type: "end",
        connection: id,
        at: ISO,
        protocol: "chat",
        ending: "peer-close",
        durationMs: expect.any(Number),
        messagesIn: 3,
        bytesIn: 19,
        messagesOut: 3,
        bytesOut: 37,
        peerCloseCode: 4001,
        closeCode: 4001,
        ...(DO ? { wakes: 0 } : {})
      }
    ])
    // A watcher that comes later gets the same events, as the history; so does a plain GET.
    const later = await watch(name)
    expect(await later.take(events.length)).toEqual(events)
    expect(await history(name)).toEqual(events)
  })

  it("shows the first 256 bytes of a long message, and a message over the limit as in, then the server's 1009", async () => {
    const name = tapName()
    const service = serviceWith({ maxMessageBytes: 600 })
    const watcher = await watch(name, service)
    const response = await service(
      new Request(`http://echo.test/echo?tap=${name}&greeting=hi`, { headers: { Upgrade: "websocket" } })
    )
    expect(response.status).toBe(101)
    const client = new Client(response.webSocket as WebSocket)
    expect(await client.next()).toBe("hi")
    client.socket.send("a".repeat(300))
    expect(await client.next()).toBe(`echo: ${"a".repeat(300)}`)
    client.socket.send(new Uint8Array(300).fill(0xab))
    await client.next()
    client.socket.send("b".repeat(601))
    expect(await client.whenClosed()).toMatchObject({ code: 1009 })
    const events = await watcher.untilEnd()
    expect(events.map((event) => event.type)).toEqual([
      "open",
      "message",
      "message",
      "message",
      "message",
      "message",
      "message",
      "close",
      "end"
    ])
    expect(events[0]).toMatchObject({ behaviours: ["greeting"] })
    expect(events.slice(1, 8)).toEqual([
      message("out", "text", 2, "hi"),
      message("in", "text", 300, "a".repeat(256), true),
      message("out", "text", 306, `echo: ${"a".repeat(250)}`, true),
      message("in", "binary", 300, "ab".repeat(256), true),
      message("out", "binary", 306, `6563686f3a20${"ab".repeat(250)}`, true),
      message("in", "text", 601, "b".repeat(256), true),
      close("server", 1009, "message too big")
    ])
    expect(events[8]).toMatchObject({
      ending: "too-big",
      closeCode: 1009,
      peerCloseCode: null,
      behaviours: ["greeting"]
    })
  })

  it("publishes a server-initiated close and the peer's answer", async () => {
    const name = tapName()
    const watcher = await watch(name)
    const client = await connect(`/echo?tap=${name}&close_code=4002&close_reason=done&close_after=1`)
    client.socket.send("x")
    expect(await client.next()).toBe("echo: x")
    expect(await client.whenClosed()).toMatchObject({ code: 4002, reason: "done" })
    // This runtime's client does not answer a close by itself (before 2026-04-07): the test answers it.
    client.socket.close(4002, "done")
    const events = await watcher.untilEnd()
    expect(events.slice(1)).toEqual([
      message("in", "text", 1, "x"),
      message("out", "text", 7, "echo: x"),
      close("server", 4002, "done"),
      close("peer", 4002, "done"),
      expect.objectContaining({ type: "end", ending: "requested", closeCode: 4002, peerCloseCode: 4002 })
    ])
  })

  it("publishes a tapped broadcast socket's copies of the room's messages as out", async () => {
    const name = tapName()
    const room = `tapped-${crypto.randomUUID().slice(0, 8)}`
    const watcher = await watch(name)
    const tapped = await connect(`/echo?broadcast=true&room=${room}&tap=${name}`)
    const other = await connect(`/echo?broadcast=true&room=${room}`)
    other.socket.send("from the other")
    expect(await tapped.next()).toBe("echo: from the other")
    expect(await other.next()).toBe("echo: from the other")
    tapped.socket.send("mine")
    expect(await tapped.next()).toBe("echo: mine")
    expect(await other.next()).toBe("echo: mine")
    await tapped.close(1000)
    const events = await watcher.untilEnd()
    expect(events[0]).toMatchObject({ type: "open", behaviours: ["broadcast"] })
    expect(events.slice(1)).toEqual([
      message("out", "text", 20, "echo: from the other"),
      message("in", "text", 4, "mine"),
      message("out", "text", 10, "echo: mine"),
      close("peer", 1000, ""),
      close("server", 1000, ""),
      expect.objectContaining({ type: "end", ending: "peer-close", messagesIn: 1, messagesOut: 2, wakes: 0 })
    ])
    await other.close(1000)
  })

  it("ignores a watcher's own messages", async () => {
    const name = tapName()
    const watcher = await watch(name)
    watcher.client.socket.send("anyone there?")
    const client = await connect(`/echo?tap=${name}`)
    client.socket.send("hi")
    await client.next()
    await client.close(1000)
    const events = await watcher.untilEnd()
    expect(events.filter((event) => event.type === "message")).toHaveLength(2)
    expect(watcher.client.unread).toBe(0)
  })
})

describe("the limits of a tap", () => {
  it("gives an 11th watcher 503 TAP_FULL, and a watcher that leaves makes room", async () => {
    const name = tapName()
    const watchers = await Promise.all(Array.from({ length: 10 }, () => watch(name)))
    const response = await SELF.fetch(`http://echo.test/tap/${name}`, { headers: { Upgrade: "websocket" } })
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({
      error: `Tap ${JSON.stringify(name)} is full: it has 10 watchers, the most a tap may`,
      code: "TAP_FULL"
    })
    await (watchers[0] as Watcher).client.close(1000)
    const next = await watch(name)
    await next.client.close(1000)
  })

  it("counts tapped sockets against MAX_ROOM_SOCKETS, and frees a socket's place when it ends", async () => {
    const name = tapName()
    const service = serviceWith({ maxRoomSockets: 2 })
    const upgrade = () =>
      service(new Request(`http://echo.test/echo?tap=${name}`, { headers: { Upgrade: "websocket" } }))
    const first = new Client((await upgrade()).webSocket as WebSocket)
    const second = new Client((await upgrade()).webSocket as WebSocket)
    const refused = await upgrade()
    expect(refused.status).toBe(503)
    expect(await refused.json()).toEqual({
      error: `Tap ${JSON.stringify(name)} is full: it has 2 sockets, the most a tap may`,
      code: "TAP_FULL"
    })
    const watcher = await watch(name)
    await first.close(1000)
    // Its place is free once its end has reached the tap.
    await watcher.untilEnd()
    const third = await upgrade()
    expect(third.status).toBe(101)
    await new Client(third.webSocket as WebSocket).close(1000)
    await second.close(1000)
  })

  it("keeps the last 100 events, at most MAX_TAP_HISTORY_BYTES, across a new instance (hibernation)", async () => {
    const name = tapName()
    const stub = tapObject(name)
    const event = (i: number, preview = String(i)): TapEvent => ({
      type: "message",
      connection: "c",
      at: new Date(i).toISOString(),
      direction: "in",
      kind: "text",
      bytes: i,
      preview,
      truncated: false
    })
    await stub.publish(
      "s",
      Array.from({ length: 150 }, (_, i) => event(i))
    )
    const kept = await history(name)
    expect(kept).toHaveLength(MAX_TAP_EVENTS)
    expect(kept.map((e) => (e as { bytes: number }).bytes)).toEqual(Array.from({ length: 100 }, (_, i) => i + 50))
    // Events of 10 KiB: the byte bound keeps fewer than 100, the newest.
    const big = (i: number): TapEvent => event(1000 + i, "x".repeat(10_240))
    await stub.publish(
      "s",
      Array.from({ length: 20 }, (_, i) => big(i))
    )
    const bounded = JSON.parse(await stub.history()) as Array<{ bytes: number }>
    const size = bounded.reduce((total, e) => total + new TextEncoder().encode(JSON.stringify(e)).length, 0)
    expect(size).toBeLessThanOrEqual(MAX_TAP_HISTORY_BYTES)
    expect(bounded.length).toBeLessThan(20)
    expect(bounded.at(-1)?.bytes).toBe(1019)
    // A new instance (as after hibernation) reads the same history from storage.
    const again = await runInDurableObject(stub, (_, state) => new EchoTap(state, env).history())
    expect(JSON.parse(again)).toEqual(bounded)
  })

  it("refuses a name that cannot be a tap's with 400 INVALID_PARAMETER, on /echo and on /tap/", async () => {
    for (const path of ["/echo?tap=short", "/echo?tap=no%20spaces%20here", `/echo?tap=${"x".repeat(65)}`]) {
      const response = await SELF.fetch(`http://echo.test${path}`, { headers: { Upgrade: "websocket" } })
      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ code: "INVALID_PARAMETER" })
    }
    const response = await SELF.fetch("http://echo.test/tap/short")
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({
      error: 'tap must be 8 to 64 of A-Z a-z 0-9 . _ -, got "short"',
      code: "INVALID_PARAMETER"
    })
  })

  it("with TEST_BEHAVIOURS=false: tap is an unknown parameter and /tap/ is 404", async () => {
    const service = serviceWith({ testBehaviours: false })
    const name = tapName()
    const echo = await service(new Request(`http://echo.test/echo?tap=${name}`, { headers: { Upgrade: "websocket" } }))
    expect(echo.status).toBe(400)
    expect(await echo.json()).toMatchObject({ code: "UNKNOWN_PARAMETER" })
    for (const headers of [{}, { Upgrade: "websocket" }, { Accept: BROWSER }]) {
      const response = await service(new Request(`http://echo.test/tap/${name}`, { headers }))
      expect(response.status).toBe(404)
    }
  })
})

describe("GET /tap/NAME", () => {
  it("answers curl with the history as a JSON array, empty for a new tap", async () => {
    expect(await history(tapName())).toEqual([])
  })

  it("serves a browser the tap page, self-contained, its inline script and style allowed by hash", async () => {
    const response = await SELF.fetch(`http://echo.test/tap/${tapName()}`, { headers: { Accept: BROWSER } })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8")
    const html = await response.text()
    expect(html).not.toMatch(/https?:\/\//)
    expect(html.match(/\s(?:src|href)=/g)).toEqual([" href="])
    expect(html).not.toMatch(/\sstyle=/)
    const sha256 = async (text: string) =>
      btoa(
        String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))))
      )
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1] as string)
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((match) => match[1] as string)
    expect(scripts).toHaveLength(1)
    expect(styles).toHaveLength(1)
    expect(response.headers.get("content-security-policy")).toBe(
      [
        "default-src 'none'",
        `script-src 'sha256-${await sha256(scripts[0] as string)}'`,
        `style-src 'sha256-${await sha256(styles[0] as string)}'`,
        "img-src data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'"
      ].join("; ")
    )
  })

  it("answers a method other than GET with 405", async () => {
    const response = await SELF.fetch(`http://echo.test/tap/${tapName()}`, { method: "POST" })
    expect(response.status).toBe(405)
  })
})
