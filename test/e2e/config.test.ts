import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startWranglerDev, type WranglerDev } from "../support/wranglerDev.js"

describe("an invalid configuration under wrangler dev", () => {
  let dev: WranglerDev

  beforeAll(async () => {
    dev = await startWranglerDev({ vars: { MAX_MESSAGE_BYTES: "0" }, expectBody: null })
  }, 90_000)
  afterAll(() => dev?.stop())

  it("answers every request with the JSON 500 and logs one line that names the variable and its range", async () => {
    for (const path of ["/echo", "/", "/anything"]) {
      const response = await fetch(`${dev.origin}${path}`)
      expect(response.status).toBe(500)
      expect(await response.text()).toBe('{"error":"Internal server error","code":"INTERNAL_ERROR"}')
    }
    const lines = dev
      .output()
      .split("\n")
      .filter((line) => line.includes("invalid configuration"))
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      logLevel: "ERROR",
      message:
        'invalid configuration: (Invalid data at MAX_MESSAGE_BYTES: "MAX_MESSAGE_BYTES must be an integer from 1 to 33554432, got "0"")'
    })
    expect(dev.output()).not.toMatch(/\n\s+at /)
  })
})
