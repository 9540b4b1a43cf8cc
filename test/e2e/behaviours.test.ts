import { randomUUID } from "node:crypto"
import { once } from "node:events"
import type { IncomingHttpHeaders } from "node:http"
import { fileURLToPath } from "node:url"
import { describe, expect, inject, it } from "vitest"
import WebSocket from "ws"
import { run } from "./cli.js"
import { Client, echoUrl, origin, within } from "./wsClient.js"

const script = fileURLToPath(new URL("behaviours_client.py", import.meta.url))

/** A `ws` client on `/echo` with a query. */
const openWith = (query: string, options: WebSocket.ClientOptions = {}, protocols: Array<string> = []) =>
  Client.open(options, protocols, `${echoUrl()}?${query}`)

/** Every text message of `client` from now on, in order (for sockets on which the server speaks only when spoken to). */
const record = (client: Client): Array<string> => {
  const texts: Array<string> = []
  client.socket.on("message", (data: Buffer) => texts.push(data.toString("utf8")))
  return texts
}

interface Refusal {
  readonly status: number | undefined
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** An upgrade the server refuses, as `ws` reports it in `unexpected-response`: status, headers and body. */
const refusal = (url: string): Promise<Refusal> => {
  const socket = new WebSocket(url)
  socket.on("error", () => {})
  const refused = new Promise<Refusal>((resolve, reject) => {
    socket.once("open", () => reject(new Error(`${url} was upgraded`)))
    socket.once("unexpected-response", (_request, response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.once("end", () =>
        resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString() })
      )
    })
  })
  return within(refused, "refusal").finally(() => socket.terminate())
}

describe("the behaviour parameters of /echo, with Node ws", () => {
  it("close_code, close_reason and close_after: two echoes, then the server's close 4001 'bye'", async () => {
    const client = await openWith("close_code=4001&close_reason=bye&close_after=2")
    const texts = record(client)
    for (const text of ["one", "two", "three"]) client.socket.send(text)
    expect(await client.whenClosed()).toEqual({ code: 4001, reason: "bye" })
    // `ws` delivers every message that came before the close frame before its close event.
    expect(texts).toEqual(["echo: one", "echo: two"])
  })

  it("reject and retry_after: ws sees 429, Retry-After: 5 and the JSON refusal", async () => {
    const refused = await refusal(`${echoUrl()}?reject=429&retry_after=5`)
    expect(refused.status).toBe(429)
    expect(refused.headers["retry-after"]).toBe("5")
    expect(refused.headers["content-type"]).toBe("application/json")
    const body = JSON.parse(refused.body)
    expect(body).toEqual({ error: expect.any(String), code: "REJECTED_ON_REQUEST" })
    expect(body.error).not.toBe("")
  })

  it("reject without retry_after: a 5xx of the client's choosing, without Retry-After", async () => {
    const refused = await refusal(`${echoUrl()}?reject=503`)
    expect(refused.status).toBe(503)
    expect(refused.headers["retry-after"]).toBeUndefined()
    expect(JSON.parse(refused.body)).toMatchObject({ code: "REJECTED_ON_REQUEST" })
  })

  it("stall=true: upgraded, then silent for 2 s, and still open", async () => {
    const client = await openWith("stall=true")
    client.socket.send("anyone there?")
    await expect(within(once(client.socket, "message"), "message", 2_000)).rejects.toThrow("no message within 2000 ms")
    expect(client.socket.readyState).toBe(WebSocket.OPEN)
    // The server answers no close frame on a stalled socket: end TCP from here, so nothing lingers.
    client.socket.terminate()
    expect(await client.whenClosed()).toEqual({ code: 1006, reason: "" })
  })

  it("delay_ms=200: three messages sent at once come back in order, none before its delay", async () => {
    const client = await openWith("delay_ms=200")
    const sent = performance.now()
    for (const text of ["first", "second", "third"]) client.socket.send(text)
    expect(await client.nextText()).toBe("echo: first")
    // A timer may fire a little early; an echo sent without the delay comes back in a few ms.
    expect(performance.now() - sent).toBeGreaterThanOrEqual(180)
    expect(await client.nextText()).toBe("echo: second")
    expect(await client.nextText()).toBe("echo: third")
    expect(await client.close(1000)).toEqual({ code: 1000, reason: "" })
  })

  it("info=true: the first message is the connection's info as JSON, credentials redacted; then the echo", async () => {
    const client = await openWith("info=true", { headers: { Authorization: "Bearer s3cret", "X-Echo-Test": "info" } }, [
      "chat"
    ])
    const first = await client.nextText()
    expect(first).not.toContain("s3cret")
    const info = JSON.parse(first)
    expect(info).toMatchObject({
      method: "GET",
      url: expect.stringMatching(/\/echo\?info=true$/),
      protocol: "chat",
      connection: expect.any(String),
      headers: { authorization: "<redacted>", "x-echo-test": "info", upgrade: "websocket" },
      cloudflare: { present: false, reason: expect.any(String) }
    })
    expect(info.connection).not.toBe("")
    client.socket.send("after info")
    expect(await client.nextText()).toBe("echo: after info")
    await client.close()
  })

  it("info, then greeting, then the echoes: the order on a socket", async () => {
    const client = await openWith(`info=true&greeting=${encodeURIComponent("héllo 👋")}`)
    expect(JSON.parse(await client.nextText())).toMatchObject({ url: expect.stringContaining("/echo?") })
    expect(await client.nextText()).toBe("héllo 👋")
    client.socket.send("then")
    expect(await client.nextText()).toBe("echo: then")
    await client.close()
  })

  it("GET /whoami answers what the server saw, with Authorization and Cookie redacted", async () => {
    const response = await fetch(`${origin()}/whoami`, {
      headers: { Authorization: "Bearer s3cret", Cookie: "session=s3cret", "X-Echo-Test": "whoami" }
    })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("application/json")
    const text = await response.text()
    expect(text).not.toContain("s3cret")
    expect(JSON.parse(text)).toMatchObject({
      method: "GET",
      url: `${origin()}/whoami`,
      httpVersion: "HTTP/1.1",
      headers: { authorization: "<redacted>", cookie: "<redacted>", "x-echo-test": "whoami" },
      cloudflare: { present: false, reason: expect.any(String) }
    })
  })

  it("broadcast=true in a room: a message from one socket arrives, prefixed, at both; a plain room socket gets none", async () => {
    const room = `behaviours-${inject("mode")}-${randomUUID().slice(0, 8)}`
    const [a, b] = await Promise.all([openWith(`broadcast=true&room=${room}`), openWith(`broadcast=true&room=${room}`)])
    const plain = await openWith(`room=${room}`)
    a.socket.send("from a")
    expect(await Promise.all([a.nextText(), b.nextText()])).toEqual(["echo: from a", "echo: from a"])
    b.socket.send("from b")
    expect(await Promise.all([a.nextText(), b.nextText()])).toEqual(["echo: from b", "echo: from b"])
    // The plain socket's first message is its own echo: the broadcasts before it never reached it.
    plain.socket.send("from plain")
    expect(await plain.nextText()).toBe("echo: from plain")
    a.socket.send("last")
    expect(await Promise.all([a.nextText(), b.nextText()])).toEqual(["echo: last", "echo: last"])
    await Promise.all([a.close(), b.close(), plain.close()])
  })
})

describe("the behaviour parameters of /echo, with Python websockets", () => {
  it("greeting first, then exactly push_count pushes among the echoes", async () => {
    const { code, stdout, stderr } = await run("/usr/bin/python3", [script, echoUrl()])
    expect({ code, stdout, stderr }).toEqual({
      code: 0,
      stdout: ["ok greeting first", "ok pushes and echo", "ok no push after the last", "ok closed normally", ""].join(
        "\n"
      ),
      stderr: ""
    })
  })
})
