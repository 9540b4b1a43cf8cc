import { mkdir } from "node:fs/promises"
import type { BrowserContext, Locator, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { behaviourParameters } from "../../src/domain/Scenario.js"
import { NOT_WEBSOCKET } from "../support/wranglerDev.js"
import { echoThroughBrowser, expectedBrowserEcho, launchChromium, openTab } from "./chromium.js"
import { echoUrl, origin } from "./wsClient.js"

let browser: BrowserContext
let closeBrowser: (() => Promise<void>) | undefined

beforeAll(async () => {
  await mkdir("test-results", { recursive: true })
  ;({ browser, close: closeBrowser } = await launchChromium())
})

afterAll(() => closeBrowser?.())

/** The debug page's behaviour section, opened with the keyboard, and its field for one parameter. */
const openBehaviour = async (page: Page): Promise<(parameter: string) => Locator> => {
  await page.focus("#behaviour summary")
  await page.keyboard.press("Enter")
  expect(await page.locator("#behaviour").evaluate((details) => (details as { open: boolean }).open)).toBe(true)
  return (parameter) => page.getByLabel(parameter, { exact: true })
}

/** What the browser's own constraint validation says of a field. */
const validity = (field: Locator) =>
  field.evaluate((input) => {
    const { rangeOverflow, rangeUnderflow, customError, valid } = input.validity
    return { rangeOverflow, rangeUnderflow, customError, valid, invalid: input.matches(":invalid") }
  })

/** The log as [class, body] pairs, oldest first. */
const logLines = (page: Page) =>
  page
    .locator("#log li")
    .evaluateAll((items) => items.map((item) => [item.className, item.querySelector(".body")?.textContent ?? ""]))

describe("Chromium against wrangler dev", () => {
  it("echoes through the browser's own WebSocket API: text, ArrayBuffer, and close 4000 mirrored", async () => {
    const { page, problems } = await openTab(browser)
    // Any page of this origin will do; the debug page asks for nothing else (no favicon request either).
    await page.goto(`${origin()}/`)
    expect(await echoThroughBrowser(page, echoUrl())).toEqual(expectedBrowserEcho)
    expect(problems).toEqual([])
    await page.close()
  })

  it("agrees on a subprotocol the browser offers, which it requires before it opens", async () => {
    const { page, problems } = await openTab(browser)
    await page.goto(`${origin()}/`)
    const seen = await page.evaluate(async (url) => {
      const socket = new WebSocket(url, ["mqtt", "chat"])
      await new Promise((resolve, reject) => {
        socket.onopen = resolve
        socket.onerror = () => reject(new Error("the browser failed the handshake"))
      })
      const echoed = new Promise<string>((resolve) => {
        socket.onmessage = (event) => resolve(event.data as string)
      })
      socket.send("over mqtt")
      const message = await echoed
      socket.close(1000)
      return { protocol: socket.protocol, message }
    }, echoUrl())
    expect(seen).toEqual({ protocol: "mqtt", message: "echo: over mqtt" })
    expect(problems).toEqual([])
    await page.close()
  })

  for (const [device, viewport] of [
    ["laptop", { width: 1280, height: 800 }],
    ["phone", { width: 390, height: 844 }]
  ] as const) {
    it(`serves a debug page that a person can use, on a ${device}`, async () => {
      const { page, problems, requested } = await openTab(browser)
      await page.setViewportSize(viewport)
      await page.goto(`${origin()}/`)
      const state = page.locator("#state")
      const log = page.locator("#log")

      await expect.poll(() => page.inputValue("#url")).toBe(echoUrl())
      expect(await state.textContent()).toBe("disconnected")
      expect(await page.isDisabled("#send-text")).toBe(true)

      // On the phone, offer subprotocols: the log names the one the server agreed to.
      if (device === "phone") await page.fill("#protocols", "graphql-ws, mqtt")
      if (device === "laptop") await page.getByRole("button", { name: "Connect", exact: true }).click()
      else await page.press("#url", "Enter")
      await state.filter({ hasText: /^open$/ }).waitFor()
      const opened = log.locator("li.event").filter({ hasText: /^.*open/ })
      expect(await opened.locator(".body").textContent()).toBe(
        device === "phone" ? "open · subprotocol graphql-ws" : "open"
      )
      // Connecting puts the cursor in the message box: type and press Enter.
      await page.keyboard.type("hello from the page")
      await page.keyboard.press("Enter")
      const text = log.locator("li.received").filter({ hasText: "echo: hello from the page" })
      await text.waitFor()
      expect(await text.locator(".meta").textContent()).toMatch(/^text · 25 B · rtt \d+\.\d ms$/)
      expect(await log.locator("li.sent .body").first().textContent()).toBe("hello from the page")
      expect(await page.inputValue("#message")).toBe("")

      // Shift+Enter starts a new line; Enter sends both lines as one message; ↑ in the empty box brings it back.
      await page.keyboard.type("two")
      await page.keyboard.press("Shift+Enter")
      await page.keyboard.type("lines")
      await page.keyboard.press("Enter")
      await log.locator("li.received .body").filter({ hasText: "echo: two\nlines" }).waitFor()
      await page.keyboard.press("ArrowUp")
      expect(await page.inputValue("#message")).toBe("two\nlines")

      // Ctrl+Enter sends the box's hex as binary.
      await page.fill("#message", "de ad be ef")
      await page.keyboard.press("Control+Enter")
      const binary = log.locator("li.received").filter({ hasText: "65 63 68 6f 3a 20 de ad be ef" })
      await binary.waitFor()
      expect(await binary.locator(".meta").textContent()).toMatch(/^binary · 10 B · rtt \d+\.\d ms$/)

      await page.screenshot({ path: `test-results/debug-page-${device}-open.png` })

      await page.fill("#message", "not hex")
      await page.getByRole("button", { name: "Send as binary (hex)" }).click()
      await log.locator("li.error").filter({ hasText: "not hex" }).waitFor()
      expect(await log.locator("li.sent").count()).toBe(3)

      await page.fill("#code", "4000")
      await page.fill("#reason", "bye from the page")
      await page.getByRole("button", { name: "Disconnect", exact: true }).click()
      await log.locator("li.closed").filter({ hasText: 'code 4000 · reason "bye from the page"' }).waitFor()
      expect(await log.locator("li.closed .meta").textContent()).toBe("clean")
      expect(await state.textContent()).toBe("closed")
      expect(await page.isEnabled("#connect")).toBe(true)

      // Everything fits the viewport: nothing scrolls sideways.
      expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(viewport.width)
      await page.screenshot({ path: `test-results/debug-page-${device}-closed.png` })
      // No CSP violation, no script error, and nothing asked of anyone but this origin.
      expect(problems).toEqual([])
      expect(requested).toEqual([`${origin()}/`, echoUrl()])
      await page.close()
    })
  }

  it("writes the behaviour section into the URL field as the user types, and reads back a URL typed by hand", async () => {
    const { page, problems, requested } = await openTab(browser)
    await page.goto(`${origin()}/`)
    // Closed by default, so the page stays simple.
    expect(await page.getByLabel("greeting", { exact: true }).isVisible()).toBe(false)
    const field = await openBehaviour(page)
    // One labelled field per parameter, with a hint: the label names it, the hint describes it.
    const parameters = [
      ...["greeting", "delay_ms", "accept_delay_ms", "close_code", "close_reason", "close_after", "close_after_ms"],
      ...["push", "push_every_ms", "push_count", "reject", "retry_after", "stall", "info", "room", "broadcast"]
    ]
    expect(
      await page.locator("#behaviour .fields input").evaluateAll((inputs) => inputs.map((input) => input.name))
    ).toEqual(parameters)
    for (const parameter of parameters) {
      expect(await field(parameter).getAttribute("name")).toBe(parameter)
      expect(await page.locator(`#${await field(parameter).getAttribute("aria-describedby")}`).textContent()).not.toBe(
        ""
      )
    }

    const url = () => page.inputValue("#url")
    await field("greeting").fill("hi & bye = ü")
    expect(await url()).toBe(`${echoUrl()}?greeting=hi+%26+bye+%3D+%C3%BC`)
    await field("info").check()
    await field("push_count").fill("3")
    expect(await url()).toBe(`${echoUrl()}?greeting=hi+%26+bye+%3D+%C3%BC&push_count=3&info=true`)
    // push_count means nothing without push: the field says so until push is given.
    expect(await validity(field("push_count"))).toMatchObject({ customError: true, invalid: true })
    await field("push").type("tick")
    expect(await validity(field("push_count"))).toMatchObject({ valid: true, invalid: false })
    // An emptied field, or an unticked box, leaves its parameter out.
    await field("greeting").fill("")
    await field("info").uncheck()
    expect(await url()).toBe(`${echoUrl()}?push=tick&push_count=3`)
    await field("push").fill("")
    await field("push_count").fill("")
    expect(await url()).toBe(echoUrl())

    // A URL edited by hand shows in the section; a parameter the section does not know stays in the URL.
    await page.fill("#url", `${echoUrl()}?colour=red&delay_ms=250&stall=true`)
    expect(await field("delay_ms").inputValue()).toBe("250")
    expect(await field("stall").isChecked()).toBe(true)
    await field("close_code").fill("4001")
    expect(await url()).toBe(`${echoUrl()}?colour=red&delay_ms=250&close_code=4001&stall=true`)

    expect(problems).toEqual([])
    expect(requested).toEqual([`${origin()}/`])
    await page.close()
  })

  it("asks the server for a greeting and a close, and logs the close with its code and reason", async () => {
    const { page, problems, requested } = await openTab(browser)
    // The narrowest phone the page is meant for.
    await page.setViewportSize({ width: 360, height: 740 })
    await page.goto(`${origin()}/`)
    const field = await openBehaviour(page)
    await field("greeting").fill("hello")
    await field("close_code").fill("4001")
    await field("close_reason").fill("bye")
    await field("close_after").fill("1")
    const url = `${echoUrl()}?greeting=hello&close_code=4001&close_reason=bye&close_after=1`
    expect(await page.inputValue("#url")).toBe(url)

    // Enter in a field of the section connects, with the URL as it stands.
    await field("close_after").press("Enter")
    const log = page.locator("#log")
    const greeting = log.locator("li.received").filter({ hasText: "hello" })
    await greeting.waitFor()
    // Nothing was sent yet: the greeting has no round trip.
    expect(await greeting.locator(".meta").textContent()).toBe("text · 5 B")
    await page.keyboard.type("one")
    await page.keyboard.press("Enter")
    const closed = log.locator("li.closed")
    await closed.waitFor()
    expect(await logLines(page)).toEqual([
      ["event", `connecting to ${url}`],
      ["event", "open"],
      ["received", "hello"],
      ["sent", "one"],
      ["received", "echo: one"],
      ["closed", 'code 4001 · reason "bye" · by the server']
    ])
    expect(await closed.locator(".meta").textContent()).toBe("clean")
    expect(await page.locator("#state").textContent()).toBe("closed")
    expect(await page.isEnabled("#connect")).toBe(true)

    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(360)
    await page.screenshot({ path: "test-results/debug-page-behaviour-360.png", fullPage: true })
    expect(problems).toEqual([])
    expect(requested).toEqual([`${origin()}/`, url])
    await page.close()
  })

  it("taps the connection: a random name in the URL as tap=NAME, and a link to /tap/NAME", async () => {
    const { page, problems, requested } = await openTab(browser)
    await page.goto(`${origin()}/`)
    await openBehaviour(page)
    const tap = page.getByLabel("tap this connection")
    const link = page.locator("#tap-link")
    expect(await tap.isChecked()).toBe(false)
    expect(await link.isVisible()).toBe(false)

    const tapped = async () => {
      const url = new URL(await page.inputValue("#url"))
      const name = url.searchParams.get("tap") ?? ""
      expect(name).toMatch(/^[A-Za-z0-9._-]{8,64}$/)
      expect(await link.getAttribute("href")).toBe(`${origin()}/tap/${name}`)
      expect(await link.textContent()).toBe(`${origin()}/tap/${name}`)
      expect(await link.isVisible()).toBe(true)
      return name
    }
    await tap.check()
    const first = await tapped()
    expect(await page.inputValue("#url")).toBe(`${echoUrl()}?tap=${first}`)
    // A behaviour added afterwards keeps the tap.
    await page.getByLabel("greeting", { exact: true }).fill("hi")
    expect(await page.inputValue("#url")).toBe(`${echoUrl()}?tap=${first}&greeting=hi`)
    // Off takes it out; on again draws a new name.
    await tap.uncheck()
    expect(await page.inputValue("#url")).toBe(`${echoUrl()}?greeting=hi`)
    expect(await link.isVisible()).toBe(false)
    await tap.check()
    const second = await tapped()
    expect(second).not.toBe(first)
    // A URL typed by hand shows in the switch: a valid name is a tap, a short one is not.
    await page.fill("#url", `${echoUrl()}?tap=my-device.01`)
    expect(await tap.isChecked()).toBe(true)
    expect(await tapped()).toBe("my-device.01")
    await page.fill("#url", `${echoUrl()}?tap=short`)
    expect(await tap.isChecked()).toBe(false)
    expect(await link.isVisible()).toBe(false)
    expect(problems).toEqual([])
    expect(requested).toEqual([`${origin()}/`])
    await page.close()
  })

  it("does not connect while a field of the section is out of its range, and says which", async () => {
    const { page, problems, requested } = await openTab(browser)
    await page.goto(`${origin()}/`)
    const field = await openBehaviour(page)
    await field("close_code").fill("5000")
    expect(await validity(field("close_code"))).toMatchObject({ rangeOverflow: true, valid: false, invalid: true })
    // The URL shows what was typed; the browser flags the field.
    expect(await page.inputValue("#url")).toBe(`${echoUrl()}?close_code=5000`)
    await page.screenshot({ path: "test-results/debug-page-behaviour-invalid.png" })

    // Even with the section closed, Connect opens it and puts the cursor in the field.
    await page.click("#behaviour summary")
    await page.getByRole("button", { name: "Connect", exact: true }).click()
    expect(await page.locator("#behaviour").evaluate((details) => (details as { open: boolean }).open)).toBe(true)
    expect(await page.evaluate("document.activeElement.name")).toBe("close_code")
    expect(await logLines(page)).toEqual([
      [
        "error",
        "close_code: Value must be less than or equal to 4999. Not connecting: the server would refuse it with 400."
      ]
    ])

    // What min and max cannot say, the page's own checks add: the codes a close frame may not carry, 426.
    await field("close_code").fill("1005")
    expect(await validity(field("close_code"))).toMatchObject({ customError: true, invalid: true })
    await field("close_code").fill("4001")
    expect(await validity(field("close_code"))).toMatchObject({ valid: true })
    await field("reject").fill("426")
    expect(await validity(field("reject"))).toMatchObject({ customError: true, invalid: true })
    await field("reject").fill("399")
    expect(await validity(field("reject"))).toMatchObject({ rangeUnderflow: true, invalid: true })
    await page.getByRole("button", { name: "Connect", exact: true }).click()
    expect(await page.evaluate("document.activeElement.name")).toBe("reject")
    expect((await logLines(page)).at(-1)).toEqual([
      "error",
      "reject: Value must be greater than or equal to 400. Not connecting: the server would refuse it with 400."
    ])

    expect(await page.locator("#state").textContent()).toBe("disconnected")
    expect(problems).toEqual([])
    expect(requested).toEqual([`${origin()}/`])
    await page.close()
  })

  it("says when the server refused the upgrade, and links to the URL over HTTP, whose answer names a wrong parameter", async () => {
    const { page, problems, requested } = await openTab(browser)
    await page.goto(`${origin()}/`)
    const field = await openBehaviour(page)
    await field("reject").fill("503")
    await field("retry_after").fill("7")
    const rejected = `${echoUrl()}?reject=503&retry_after=7`
    expect(await page.inputValue("#url")).toBe(rejected)
    // A URL typed by hand goes to the server as typed, here with a parameter the server does not know.
    const unknown = `${echoUrl()}?colour=red`

    const refusal = (url: string, asked: string) =>
      `The server refused the upgrade, or could not be reached${asked}. A page cannot read the HTTP status; the ` +
      "browser's console may show it. Over HTTP the URL answers 400 naming a wrong parameter, or 426 if the " +
      `parameters are fine: ${url.replace(/^ws/, "http")}`
    const explained = page.locator("#log li.error").filter({ hasText: "refused the upgrade" })
    for (const [url, asked] of [
      [rejected, " (reject=503 asks it to refuse with 503)"],
      [unknown, ""]
    ] as const) {
      if (url === unknown) await page.fill("#url", unknown)
      await page.getByRole("button", { name: "Connect", exact: true }).click()
      await explained.filter({ hasText: url.replace(/^ws/, "http") }).waitFor()
      expect((await logLines(page)).slice(-4)).toEqual([
        ["event", `connecting to ${url}`],
        ["error", "the connection failed or broke; the close code says more"],
        ["closed", "code 1006 · no reason"],
        ["error", refusal(url, asked)]
      ])
    }
    expect(await page.locator("#state").textContent()).toBe("closed")
    // The hand-typed URL emptied the section.
    expect(await field("reject").inputValue()).toBe("")

    // What a person who follows the links reads: the plain GET's answer, the 426 of valid parameters or the 400.
    const links = await explained.locator("a").evaluateAll((links) => links.map((link) => link.href))
    expect(links).toEqual([`${origin()}/echo?reject=503&retry_after=7`, `${origin()}/echo?colour=red`])
    const [valid, wrong] = await Promise.all(links.map((link) => fetch(link)))
    expect(valid?.status).toBe(426)
    expect(await valid?.text()).toBe(NOT_WEBSOCKET)
    expect(wrong?.status).toBe(400)
    expect(await wrong?.json()).toEqual({
      error: `Unknown parameter "colour"; the known ones are ${["room", ...behaviourParameters, "tap"].join(", ")}`,
      code: "UNKNOWN_PARAMETER"
    })

    // Only the browser's console knew each status: 503 as reject asked, 400 for the unknown parameter.
    expect(problems).toEqual([
      `WebSocket connection to '${rejected}' failed: Error during WebSocket handshake: Unexpected response code: 503`,
      `WebSocket connection to '${unknown}' failed: Error during WebSocket handshake: Unexpected response code: 400`
    ])
    expect(requested).toEqual([`${origin()}/`, rejected, unknown])
    await page.close()
  })

  it("keeps the log to the last 1000 frames", async () => {
    const { page, problems } = await openTab(browser)
    await page.goto(`${origin()}/`)
    await page.press("#url", "Enter")
    await page
      .locator("#state")
      .filter({ hasText: /^open$/ })
      .waitFor()
    await page.evaluate(`(() => {
      const message = document.getElementById("message"), send = document.getElementById("send-text")
      for (let i = 0; i < 600; i++) { message.value = "n" + i; send.click() }
    })()`)
    const entries = page.locator("#log li")
    await entries.last().filter({ hasText: "echo: n599" }).waitFor()
    // connecting, open, 600 sent and 600 received: the first 202 are gone.
    expect(await entries.count()).toBe(1000)
    expect(await entries.first().locator(".body").textContent()).toBe("n200")
    expect(problems).toEqual([])
    await page.close()
  })
})
