import { mkdir } from "node:fs/promises"
import type { BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { launchChromium, openTab } from "./chromium.js"
import { echoUrl, origin } from "./wsClient.js"

let browser: BrowserContext
let closeBrowser: (() => Promise<void>) | undefined

beforeAll(async () => {
  await mkdir("test-results", { recursive: true })
  ;({ browser, close: closeBrowser } = await launchChromium())
})

afterAll(() => closeBrowser?.())

/** What Chromium's console says of every answer that is not a 2xx, here the echo's 426 that reachability asks for. */
const UPGRADE_REQUIRED = "Failed to load resource: the server responded with a status of 426 (Upgrade Required)"

const NAMES = ["reachability", "upgrade", "round trips", "latency", "what the server saw", "server close"]

/** The checks as the page shows them: name, status and detail, in order. */
const checks = (page: Page) =>
  page.locator("#checks li").evaluateAll((items) =>
    items.map((item) => ({
      name: item.querySelector(".name")?.textContent ?? "",
      status: item.getAttribute("data-status") ?? "",
      detail: item.querySelector(".detail")?.textContent ?? ""
    }))
  )

/** Opens the Diagnose section, runs it with the Server field as it stands, and waits until the last check is done. */
const diagnose = async (page: Page, rounds: number, timeout: number) => {
  await page.click("#diagnose summary")
  await page.fill("#d-rounds", String(rounds))
  await page.getByRole("button", { name: "Run diagnosis" }).click()
  await page.locator("#checks[data-done]").waitFor({ timeout })
  return checks(page)
}

describe("the debug page's Diagnose section, in Chromium against wrangler dev", () => {
  it("runs every check against this server, idle survival held for 2 s, and every check passes", async () => {
    const { page, problems } = await openTab(browser)
    await page.setViewportSize({ width: 880, height: 1200 })
    // ?idle=2 offers an idle survival short enough for a test, and chooses it.
    await page.goto(`${origin()}/?idle=2`)
    expect(await page.inputValue("#d-idle")).toBe("2")
    // The checks show as they run: the first is running before the last is done.
    const run = diagnose(page, 100, 40_000)
    await page.locator("#checks li[data-status=running]").first().waitFor()
    const done = await run
    expect(done.map(({ name }) => name)).toEqual([...NAMES, "idle survival"])
    expect(done.filter(({ status }) => status !== "pass")).toEqual([])
    const detail = Object.fromEntries(done.map(({ name, detail }) => [name, detail]))
    expect(detail.reachability).toMatch(
      /^the server is up: \/health answered in [\d.]+ ms, and \/echo answered a plain GET with 426/
    )
    expect(detail.upgrade).toMatch(/^opened in [\d.]+ ms$/)
    expect(detail["round trips"]).toContain("1 KiB, 64 KiB and 1 MiB (1,048,576 bytes sent")
    expect(detail["round trips"]).toContain('6 bytes longer, with its prefix "echo: "')
    expect(detail.latency).toMatch(/^100 round trips: p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms$/)
    expect(detail["what the server saw"]).toContain(`Origin arrived: ${origin()}`)
    expect(detail["what the server saw"]).toContain("HTTP/1.1")
    expect(detail["server close"]).toBe('4001 and its reason "diagnose: closed on request ✓" arrived intact')
    expect(detail["idle survival"]).toBe("survived 2 s of silence, and echoed after it")

    // The plots: one point per round trip in the time series, and a histogram whose bars count them all.
    expect(await page.locator("#d-series circle").count()).toBe(100)
    const bars = await page.locator("#d-histogram rect title").allTextContents()
    expect(bars.reduce((sum, title) => sum + Number(title.split(" ")[0]), 0)).toBe(100)
    await page.locator("#diagnose").screenshot({ path: "test-results/diagnose.png" })

    // Copy report: the JSON of the fixed shape, read back from the clipboard.
    await browser.grantPermissions(["clipboard-read", "clipboard-write"], { origin: origin() })
    await page.getByRole("button", { name: "Copy report" }).click()
    await page.getByRole("button", { name: "Copied" }).waitFor()
    const report = JSON.parse(await page.evaluate<string>("navigator.clipboard.readText()"))
    expect(Object.keys(report)).toEqual(["url", "at", "checks", "latency"])
    expect(report.url).toBe(echoUrl())
    expect(new Date(report.at).toISOString()).toBe(report.at)
    expect(report.checks).toEqual(done)
    for (const check of report.checks) expect(Object.keys(check)).toEqual(["name", "status", "detail"])
    const { p50, p90, p99, max, samples } = report.latency
    expect(Object.keys(report.latency)).toEqual(["p50", "p90", "p99", "max", "samples"])
    expect(samples).toHaveLength(100)
    expect(samples.every((sample: unknown) => typeof sample === "number" && sample >= 0)).toBe(true)
    expect(p50).toBeLessThanOrEqual(p90)
    expect(p90).toBeLessThanOrEqual(p99)
    expect(p99).toBeLessThanOrEqual(max)
    expect(max).toBe(Math.max(...samples))
    // Nearest rank: the smallest sample that at least p % of the samples do not exceed.
    const sorted = [...samples].sort((a: number, b: number) => a - b)
    expect([p50, p90, p99]).toEqual([sorted[49], sorted[89], sorted[98]])
    expect(problems).toEqual([UPGRADE_REQUIRED])
    await page.close()
  }, 60_000)

  it("reads another origin's /health and 426 (CORS), which the page's CSP lets it fetch, and nothing else there", async () => {
    const { page, problems, requested } = await openTab(browser)
    // On the narrowest phone the page is meant for.
    await page.setViewportSize({ width: 360, height: 740 })
    await page.goto(`${origin()}/`)
    // The same server under another name is another origin to the browser.
    const elsewhere = origin().replace("127.0.0.1", "localhost")
    await page.fill("#url", `${elsewhere.replace(/^http/, "ws")}/echo`)
    const done = await diagnose(page, 10, 30_000)
    expect(done.map(({ name }) => name)).toEqual(NAMES)
    expect(done.filter(({ status }) => status !== "pass")).toEqual([])
    expect(requested).toContain(`${elsewhere}/health`)
    expect(requested).toContain(`${elsewhere}/echo`)
    expect(problems).toEqual([UPGRADE_REQUIRED])
    // The checks and the plots fit the phone: nothing scrolls sideways.
    expect(await page.locator("#d-series circle").count()).toBe(10)
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(360)
    await page.locator("#diagnose").screenshot({ path: "test-results/diagnose-360.png" })
    // Any other path, of this origin or another, is refused by the policy before it is asked.
    const refused = await page.evaluate(
      (urls) =>
        Promise.all(
          urls.map((url) =>
            fetch(url).then(
              () => "fetched",
              () => "refused"
            )
          )
        ),
      [`${origin()}/whoami`, `${elsewhere}/`]
    )
    expect(refused).toEqual(["refused", "refused"])
    expect(problems[0]).toBe(UPGRADE_REQUIRED)
    expect(problems.slice(1)).toEqual(
      [`${origin()}/whoami`, `${elsewhere}/`].flatMap((url) => [
        expect.stringMatching(new RegExp(`^Connecting to '${url}' violates the following Content Security Policy`)),
        `Fetch API cannot load ${url}. Refused to connect because it violates the document's Content Security Policy.`
      ])
    )
    await page.close()
  }, 60_000)

  it("fails the upgrade check of a URL that refuses the upgrade (reject=503), and says why", async () => {
    const { page, problems } = await openTab(browser)
    await page.goto(`${origin()}/`)
    const rejected = `${echoUrl()}?reject=503`
    await page.fill("#url", rejected)
    const done = await diagnose(page, 10, 30_000)
    expect(done.map(({ name }) => name)).toEqual(NAMES)
    // Over HTTP the echo is there; the upgrade is what fails, and the reason names the refusal asked for.
    expect(done[0]?.status).toBe("pass")
    expect(done[1]).toEqual({
      name: "upgrade",
      status: "fail",
      detail:
        "the connection failed before it opened (a page sees only code 1006); the URL asks the server to refuse it (reject=503)"
    })
    for (const check of done.slice(2)) {
      expect(check).toMatchObject({ status: "fail", detail: "not run: it needs a WebSocket, and the upgrade failed" })
    }
    expect(await page.locator("#d-series circle").count()).toBe(0)
    expect(problems).toEqual([
      UPGRADE_REQUIRED,
      `WebSocket connection to '${rejected}' failed: Error during WebSocket handshake: Unexpected response code: 503`
    ])
    await page.close()
  })

  it("fails reachability for a URL whose parameters the server refuses, naming the one, and the upgrade with it", async () => {
    const { page, problems } = await openTab(browser)
    await page.goto(`${origin()}/`)
    const wrong = `${echoUrl()}?colour=red`
    await page.fill("#url", wrong)
    const [reachability, upgrade] = await diagnose(page, 10, 30_000)
    expect(reachability?.status).toBe("fail")
    expect(reachability?.detail).toMatch(
      /^the server is up, but refuses this URL: Unknown parameter "colour"; the known/
    )
    expect(upgrade).toEqual({
      name: "upgrade",
      status: "fail",
      detail:
        "the connection failed before it opened (a page sees only code 1006); the server refuses this URL's parameters, as reachability says"
    })
    expect(problems).toEqual([
      "Failed to load resource: the server responded with a status of 400 (Bad Request)",
      `WebSocket connection to '${wrong}' failed: Error during WebSocket handshake: Unexpected response code: 400`
    ])
    await page.close()
  })
})
