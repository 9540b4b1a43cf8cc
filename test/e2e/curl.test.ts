import { describe, expect, it } from "vitest"
import { run } from "./cli.js"
import { origin } from "./wsClient.js"

interface CurlResponse {
  readonly status: number
  readonly headers: Map<string, string>
  readonly body: string
}

/** One request with curl; the status line, headers (lower-cased names) and body it printed. */
const curl = async (path: string, ...args: Array<string>): Promise<CurlResponse> => {
  const { code, stdout, stderr } = await run("curl", ["-sS", "-i", "--max-time", "10", ...args, `${origin()}${path}`])
  expect(stderr).toBe("")
  expect(code).toBe(0)
  const [head = "", ...rest] = stdout.split("\r\n\r\n")
  const [statusLine = "", ...lines] = head.split("\r\n")
  const headers = new Map(
    lines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()])
  )
  return { status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") }
}

describe("curl against wrangler dev", () => {
  it("gets 426 and the JSON error from GET /echo", async () => {
    const response = await curl("/echo")
    expect(response.status).toBe(426)
    expect(response.headers.get("content-type")).toBe("application/json")
    expect(response.body).toBe(
      '{"error":"Expected WebSocket upgrade request (Upgrade: websocket)","code":"NOT_WEBSOCKET"}'
    )
  })

  it("does not see Upgrade: websocket on the 426, because workerd strips it (docs/design.md)", async () => {
    // The handler sets it (tested in workerd); if this starts failing, the runtime now sends it: update docs/design.md.
    const response = await curl("/echo")
    expect(response.status).toBe(426)
    expect(response.headers.has("upgrade")).toBe(false)
  })

  it("gets 404 and the JSON error for an unknown path", async () => {
    const response = await curl("/nope")
    expect(response.status).toBe(404)
    expect(response.headers.get("content-type")).toBe("application/json")
    expect(JSON.parse(response.body)).toEqual({
      error: "Not found; the echo is at GET /echo with Upgrade: websocket",
      code: "NOT_FOUND"
    })
  })

  it("gets 405, Allow and the JSON error for POST on /echo, / and /health", async () => {
    for (const [path, use] of [
      ["/echo", "GET with Upgrade: websocket"],
      ["/", "GET"],
      ["/health", "GET"]
    ] as const) {
      const response = await curl(path, "-X", "POST", "--data", "x")
      expect(response.status).toBe(405)
      expect(response.headers.get("allow")).toBe("GET, HEAD")
      expect(response.headers.get("content-type")).toBe("application/json")
      expect(JSON.parse(response.body)).toEqual({
        error: `Method POST is not allowed; use ${use}`,
        code: "METHOD_NOT_ALLOWED"
      })
    }
  })

  it("gets the JSON description at / by default and the debug page when it asks for HTML", async () => {
    const json = await curl("/")
    expect(json.status).toBe(200)
    expect(json.headers.get("content-type")).toBe("application/json")
    expect(JSON.parse(json.body)).toMatchObject({
      name: "websocket-echo",
      prefix: "echo: ",
      maxMessageBytes: 1_048_576
    })

    const html = await curl("/", "-H", "Accept: text/html")
    expect(html.status).toBe(200)
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(html.headers.get("content-security-policy")).toMatch(/^default-src 'none'; script-src 'sha256-/)
    expect(html.body).toMatch(/^<!doctype html>/)
  })

  it("gets {status: ok} from /health", async () => {
    const response = await curl("/health")
    expect(response.status).toBe(200)
    expect(response.body).toBe('{"status":"ok"}')
  })
})
