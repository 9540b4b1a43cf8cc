import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { run } from "./cli.js"
import { origin } from "./wsClient.js"

/**
 * The README's curl lines, run as a reader would run them against `npm run dev`, with the port of this run's
 * server: each one prints what the README says it prints.
 */
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8")
const blocks = [...readme.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```/gm)].map((match) => match[1] ?? "")
const curlLines = blocks
  .flatMap((block) => block.split("\n"))
  .filter((line) => /^curl .*http:\/\/127\.0\.0\.1:8787\//.test(line))

/** A README line as written, with this run's server in place of port 8787 (`run` stops it after 20 s). */
const runLine = (line: string) => run("bash", ["-c", line.replaceAll("http://127.0.0.1:8787", origin())])

const lineFor = (path: RegExp) => {
  const line = curlLines.find((candidate) => path.test(candidate))
  if (line === undefined) throw new Error(`the README has no curl line for ${path}`)
  return line
}

describe("the README's curl lines against wrangler dev", () => {
  it("has the curl lines this test checks, and no other", () => {
    expect(curlLines).toHaveLength(4)
  })

  it("GET /echo: the 426 and its JSON error", async () => {
    const { code, stdout } = await runLine(lineFor(/8787\/echo(\s|$)/))
    expect(code).toBe(0)
    expect(stdout).toMatch(/^HTTP\/1\.1 426 /)
    expect(stdout).toContain(
      '\r\n\r\n{"error":"Expected WebSocket upgrade request (Upgrade: websocket)","code":"NOT_WEBSOCKET"}'
    )
  })

  it("GET /: what the server is, as JSON", async () => {
    const { code, stdout } = await runLine(lineFor(/8787\/(\s|$)/))
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ name: "websocket-echo", prefix: "echo: ", maxMessageBytes: 1_048_576 })
  })

  it("GET /health", async () => {
    const { code, stdout } = await runLine(lineFor(/8787\/health/))
    expect(code).toBe(0)
    expect(stdout).toBe('{"status":"ok"}')
  })

  it("an upgrade with a misspelt parameter: the 400 that names it", async () => {
    const { code, stdout } = await runLine(lineFor(/Upgrade: websocket.*dealy_ms/))
    expect(code).toBe(0)
    expect(stdout).toMatch(/^HTTP\/1\.1 400 /)
    const body = JSON.parse(stdout.slice(stdout.indexOf("\r\n\r\n") + 4))
    expect(body).toMatchObject({ code: "UNKNOWN_PARAMETER" })
    expect(body.error).toMatch(/^Unknown parameter "dealy_ms"; the known ones are room, greeting, delay_ms/)
  })
})
