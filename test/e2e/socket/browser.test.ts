import type { BrowserContext } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { echoThroughBrowser, expectedBrowserEcho, launchChromium, openTab } from "../chromium.js"
import { echoUrl } from "../wsClient.js"

let browser: BrowserContext
let closeBrowser: (() => Promise<void>) | undefined

beforeAll(async () => {
  ;({ browser, close: closeBrowser } = await launchChromium())
})

afterAll(() => closeBrowser?.())

describe("Chromium against the Socket echo (wrangler dev)", () => {
  it("echoes through the browser's own WebSocket API: text, ArrayBuffer, and close 4000 mirrored", async () => {
    const { page, problems, requested } = await openTab(browser)
    // The fixture serves no page, and Chromium refuses a socket to loopback from a page that is not of a local
    // address (about:blank, or one made up with page.route: net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS).
    // So the tab shows the fixture's own 426 for GET /echo, and Chromium reports that status (and the 404 of
    // its favicon request) on the console: the only lines let through.
    const shown = await page.goto(echoUrl().replace(/^ws/, "http"))
    expect(shown?.status()).toBe(426)
    expect(await echoThroughBrowser(page, echoUrl())).toEqual(expectedBrowserEcho)
    const loadErrors =
      /^Failed to load resource: the server responded with a status of (426 \(Upgrade Required\)|404 \(Not Found\))$/
    expect(problems.filter((problem) => !loadErrors.test(problem))).toEqual([])
    expect(requested).toEqual([echoUrl().replace(/^ws/, "http"), echoUrl()])
    await page.close()
  })
})
