import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium, type Page } from "playwright-core"

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** Debian's Chromium, driven by playwright-core, with a fresh profile that `close` removes. */
export const launchChromium = async (): Promise<{
  readonly browser: BrowserContext
  readonly close: () => Promise<void>
}> => {
  const profile = await mkdtemp(join(tmpdir(), "websocket-echo-chromium-"))
  // A persistent context is how Playwright takes a fresh --user-data-dir of our own.
  const browser = await chromium
    .launchPersistentContext(profile, {
      executablePath: "/usr/bin/chromium",
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1280, height: 800 }
    })
    .catch(async (error) => {
      await rm(profile, { recursive: true, force: true })
      throw error
    })
  // A wrong echo fails within a test's time, naming what the page never showed.
  browser.setDefaultTimeout(10_000)
  return {
    browser,
    close: async () => {
      await browser.close()
      await rm(profile, { recursive: true, force: true })
    }
  }
}

/** A new tab that records console errors, page errors and every URL it asks for. */
export const openTab = async (
  browser: BrowserContext
): Promise<{ page: Page; problems: Array<string>; requested: Array<string> }> => {
  const page = await browser.newPage()
  const problems: Array<string> = []
  const requested: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text())
  })
  page.on("pageerror", (error) => problems.push(error.message))
  page.on("request", (request) => requested.push(request.url()))
  page.on("websocket", (socket) => requested.push(socket.url()))
  return { page, problems, requested }
}

/** What the page's own `WebSocket` saw: the two echoes (text, or an ArrayBuffer's bytes) and the close. */
export interface BrowserEcho {
  readonly received: ReadonlyArray<string | ReadonlyArray<number>>
  readonly closed: { readonly code: number; readonly reason: string; readonly wasClean: boolean }
}

/**
 * In `page`, opens the browser's own `WebSocket` to `url`, sends a text and an ArrayBuffer of 0, 1, 254, 255,
 * waits for both echoes, closes with 4000 "browser done" and returns what it got.
 */
export const echoThroughBrowser = (page: Page, url: string): Promise<BrowserEcho> =>
  page.evaluate(async (url) => {
    const socket = new WebSocket(url)
    socket.binaryType = "arraybuffer"
    const received: Array<string | Array<number>> = []
    const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve, reject) => {
      socket.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean })
      setTimeout(() => reject(new Error(`no close within 10 s; received ${JSON.stringify(received)}`)), 10_000)
    })
    await new Promise((resolve, reject) => {
      socket.onopen = resolve
      socket.onerror = reject
    })
    const two = new Promise<void>((resolve) => {
      socket.onmessage = (event) => {
        received.push(typeof event.data === "string" ? event.data : Array.from(new Uint8Array(event.data)))
        if (received.length === 2) resolve()
      }
    })
    socket.send("hello from chromium")
    socket.send(new Uint8Array([0, 1, 254, 255]).buffer)
    await two
    socket.close(4000, "browser done")
    return { received, closed: await closed }
  }, url)

/** The echoes `echoThroughBrowser` expects from a server that prefixes every message with `echo: `. */
export const expectedBrowserEcho: BrowserEcho = {
  received: ["echo: hello from chromium", [...new TextEncoder().encode("echo: "), 0, 1, 254, 255]],
  closed: { code: 4000, reason: "browser done", wasClean: true }
}
