import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { BrowserContext } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { TapEvent } from "../../src/domain/TapEvent.js"
import { launchChromium, openTab } from "./chromium.js"
import { run } from "./cli.js"
import { Client, echoUrl, origin, within } from "./wsClient.js"

const LIMIT = 1_048_576
const watcherScript = fileURLToPath(new URL("tap_watcher.py", import.meta.url))
const tapName = () => `e2e-${crypto.randomUUID()}`
const tapUrl = (name: string) => `${origin().replace(/^http/, "ws")}/tap/${name}`

/** A watcher over `ws`: the tap's events, parsed. */
const watchWithWs = async (name: string) => {
  const client = await Client.open({}, [], tapUrl(name))
  return {
    client,
    next: async (): Promise<TapEvent> => JSON.parse(await client.nextText()) as TapEvent,
    async untilEnd(): Promise<Array<TapEvent>> {
      const events: Array<TapEvent> = []
      for (;;) {
        const event = await this.next()
        events.push(event)
        if (event.type === "end") return events
      }
    }
  }
}

/**
 * A watcher over Python's websockets, in a process of its own: resolves once its socket is open, and `events`
 * resolves with every event it printed, up to the first end.
 */
const watchWithPython = async (name: string) => {
  const child = spawn("/usr/bin/python3", [watcherScript, tapUrl(name)], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  await within(
    new Promise<void>((resolve) =>
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8")
        if (stdout.startsWith("watching\n")) resolve()
      })
    ),
    () => `the Python watcher's socket (stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)})`
  ).catch((error) => {
    child.kill()
    throw error
  })
  return {
    events: async (): Promise<Array<TapEvent>> => {
      const code = await within(exited, "the Python watcher's exit", 25_000).catch((error) => {
        child.kill()
        throw error
      })
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" })
      return stdout
        .split("\n")
        .slice(1)
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as TapEvent)
    }
  }
}

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
const message = (direction: "in" | "out", kind: "text" | "binary", bytes: number, preview: string, truncated = false) =>
  ({ type: "message", at: ISO, direction, kind, bytes, preview, truncated }) as const

describe("a tap under wrangler dev", () => {
  it("shows a Python watcher and a ws watcher the same events in order: text, UTF-8, binary, then 1009; then the history", async () => {
    const name = tapName()
    const python = await watchWithPython(name)
    const watcher = await watchWithWs(name)
    const client = await Client.open({}, [], `${echoUrl()}?tap=${name}`)
    client.socket.send("hello")
    expect(await client.nextText()).toBe("echo: hello")
    const utf8 = "héllo → 世界 🌍"
    client.socket.send(utf8)
    expect(await client.nextText()).toBe(`echo: ${utf8}`)
    client.socket.send(Buffer.from([0, 1, 0xfe, 0xff]))
    expect([...(await client.next()).data]).toEqual([...Buffer.from("echo: "), 0, 1, 0xfe, 0xff])
    client.socket.send("x".repeat(LIMIT + 1))
    expect(await client.whenClosed()).toEqual({ code: 1009, reason: "message too big" })

    const events = await watcher.untilEnd()
    const id = events[0]?.connection
    expect(events[0]).toMatchObject({
      type: "open",
      connection: expect.stringMatching(/^[0-9a-f-]{36}$/),
      request: { method: "GET", url: expect.stringContaining(`/echo?tap=${name}`), httpVersion: "HTTP/1.1" },
      offered: [],
      protocol: null,
      behaviours: []
    })
    const utf8Bytes = Buffer.byteLength(utf8)
    expect(events.slice(1).map((event) => ({ ...event, connection: undefined }))).toEqual([
      message("in", "text", 5, "hello"),
      message("out", "text", 11, "echo: hello"),
      message("in", "text", utf8Bytes, utf8),
      message("out", "text", utf8Bytes + 6, `echo: ${utf8}`),
      message("in", "binary", 4, "0001feff"),
      message("out", "binary", 10, "6563686f3a200001feff"),
      message("in", "text", LIMIT + 1, "x".repeat(256), true),
      { type: "close", at: ISO, by: "server", code: 1009, reason: "message too big", connection: undefined },
      expect.objectContaining({
        type: "end",
        ending: "too-big",
        // The message over the limit is refused, not counted.
        messagesIn: 3,
        messagesOut: 3,
        closeCode: 1009,
        peerCloseCode: null
      })
    ])
    expect(events.every((event) => event.connection === id)).toBe(true)
    expect(await python.events()).toEqual(events)

    // A watcher that connects afterwards gets the history first; curl gets it as a JSON array.
    const later = await watchWithWs(name)
    const history: Array<TapEvent> = []
    for (let i = 0; i < events.length; i++) history.push(await later.next())
    expect(history).toEqual(events)
    await later.client.close(1000)
    await watcher.client.close(1000)
    const curl = await run("curl", ["-sS", "--max-time", "10", `${origin()}/tap/${name}`])
    expect(curl.code).toBe(0)
    expect(JSON.parse(curl.stdout)).toEqual(events)
  })

  it("tells a client's own close and the answer apart: close by peer, then by server, with the codes", async () => {
    const name = tapName()
    const watcher = await watchWithWs(name)
    const client = await Client.open({}, ["chat"], `${echoUrl()}?tap=${name}`)
    client.socket.send("one")
    await client.next()
    expect(await client.close(4000, "bye")).toEqual({ code: 4000, reason: "bye" })
    const events = await watcher.untilEnd()
    expect(events[0]).toMatchObject({ type: "open", offered: ["chat"], protocol: "chat" })
    expect(events.slice(3)).toEqual([
      expect.objectContaining({ type: "close", by: "peer", code: 4000, reason: "bye" }),
      expect.objectContaining({ type: "close", by: "server", code: 4000, reason: "bye" }),
      expect.objectContaining({ type: "end", ending: "peer-close", peerCloseCode: 4000, closeCode: 4000 })
    ])
    await watcher.client.close(1000)
  })
})

describe("the tap page in Chromium", () => {
  let browser: BrowserContext
  let closeBrowser: (() => Promise<void>) | undefined

  beforeAll(async () => {
    ;({ browser, close: closeBrowser } = await launchChromium())
  })

  afterAll(() => closeBrowser?.())

  it("shows each event as a row, live: the handshake expandable, text as text, binary as hex", async () => {
    const name = tapName()
    const { page, problems, requested } = await openTab(browser)
    await page.goto(`${origin()}/tap/${name}`)
    await page.locator("#state[data-state=watching]").waitFor()
    const client = await Client.open({}, [], `${echoUrl()}?tap=${name}`)
    client.socket.send("seen live")
    await client.next()
    await page.locator("#events li[data-type=message]").nth(1).waitFor()
    client.socket.send(Buffer.from([0xca, 0xfe]))
    await client.next()
    await client.close(1000)
    await page.locator("#events li[data-type=end]").waitFor()
    const rows = await page
      .locator("#events li")
      .evaluateAll((items) => items.map((item) => [item.className, item.querySelector(".body")?.textContent ?? ""]))
    expect(rows.slice(1)).toEqual([
      ["in", "seen live"],
      ["out", "echo: seen live"],
      ["in", "ca fe"],
      ["out", "65 63 68 6f 3a 20 ca fe"],
      ["close", "1000"],
      ["close", "1000"],
      ["end", expect.stringContaining('"ending":"peer-close"')]
    ])
    expect(rows[0]?.[0]).toBe("open")
    const handshake = page.locator("#events li[data-type=open] details")
    await handshake.locator("summary").click()
    expect(await handshake.locator("pre").textContent()).toContain(`/echo?tap=${name}`)
    expect(problems).toEqual([])
    expect(requested).toEqual([`${origin()}/tap/${name}`, `${tapUrl(name)}`])
    await page.close()
  })
})
