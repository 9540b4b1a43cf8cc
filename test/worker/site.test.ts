import { env, SELF } from "cloudflare:test"
import { describe, expect, it } from "vitest"
import { name, version } from "../../package.json"
import { prefersHtml } from "../../src/domain/Accept.js"
import { behaviourParameters, isScenario, parameterHelp, parseScenario } from "../../src/domain/Scenario.js"
import { diagnoseScript, diagnoseStyle } from "../../src/runtime/Diagnose.js"
import { Client } from "./socket.js"

const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

const get = (path: string, init: RequestInit = {}) => SELF.fetch(`http://echo.test${path}`, init)

const sha256 = async (text: string) =>
  btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))))

describe("GET / for a browser", () => {
  it("serves the debug page, self-contained, with a strict Content-Security-Policy", async () => {
    const response = await get("/", { headers: { Accept: BROWSER } })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(response.headers.get("vary")).toBe("Accept")
    expect(response.headers.get("x-content-type-options")).toBe("nosniff")
    const html = await response.text()
    expect(html.startsWith("<!doctype html>")).toBe(true)
    // Small enough to read in a sitting: the Diagnose section's script and the behaviour section's fields are most of it.
    expect(new TextEncoder().encode(html).byteLength).toBeLessThan(45_000)
    for (const control of ['id="url"', 'id="connect"', 'id="disconnect"', 'id="message"', 'id="send-text"']) {
      expect(html).toContain(control)
    }
    expect(html).toContain('id="send-binary"')
    expect(html).toContain('id="log"')
    for (const control of [
      'id="diagnose"',
      'id="d-run"',
      'id="d-copy"',
      'id="d-series"',
      'id="tap"',
      'id="tap-link"'
    ]) {
      expect(html).toContain(control)
    }
    // Nothing refers to another origin: no src/href but the inline favicon, no http(s) URL at all.
    expect(html).not.toMatch(/https?:\/\//)
    expect(html.match(/\s(?:src|href)=/g)).toEqual([" href="])
    expect(html).toContain('<link rel="icon" href="data:,">')
  })

  it("allows exactly its own inline script and style, WebSockets anywhere, and over HTTP only /health and /echo", async () => {
    const response = await get("/", { headers: { Accept: BROWSER } })
    const policy = response.headers.get("content-security-policy") ?? ""
    const html = await response.text()
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1] as string)
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((match) => match[1] as string)
    expect(scripts).toHaveLength(1)
    expect(styles).toHaveLength(1)
    // The Diagnose section's script and style are part of the hashed ones, not inline code of their own.
    expect(scripts[0]).toContain(diagnoseScript)
    expect(styles[0]).toContain(diagnoseStyle)
    const directives = Object.fromEntries(
      policy.split(";").map((directive) => {
        const [key = "", ...values] = directive.trim().split(/\s+/)
        return [key, values.join(" ")]
      })
    )
    expect(directives).toEqual({
      "default-src": "'none'",
      "script-src": `'sha256-${await sha256(scripts[0] as string)}'`,
      "style-src": `'sha256-${await sha256(styles[0] as string)}'`,
      "img-src": "data:",
      "connect-src": "ws: wss: http://*:*/health https://*:*/health http://*:*/echo https://*:*/echo",
      "base-uri": "'none'",
      "form-action": "'none'",
      "frame-ancestors": "'none'"
    })
    // Hash-only style-src would block style attributes.
    expect(html).not.toMatch(/\sstyle=/)
  })

  it("answers HEAD with the page's headers and no body", async () => {
    const response = await get("/", { method: "HEAD", headers: { Accept: BROWSER } })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(await response.text()).toBe("")
  })
})

describe("the debug page's behaviour section", () => {
  const limits = { testBehaviours: true, maxMessageBytes: 1_048_576, idleTimeoutSeconds: 600 }

  /** The section's inputs, each with its attributes, in the page's order. */
  const fields = async () => {
    const html = await (await get("/", { headers: { Accept: BROWSER } })).text()
    const inputs = [...html.matchAll(/<input id="p-([a-z_]+)" ([^>]*)>/g)].map(([, name = "", attributes = ""]) => ({
      name,
      attributes: Object.fromEntries(
        [...attributes.matchAll(/([a-z-]+)="([^"]*)"/g)].map(([, key, value]) => [key, value])
      )
    }))
    return { html, inputs }
  }

  it("has one field per parameter of /echo, labelled with its name and described by a hint, closed", async () => {
    const { html, inputs } = await fields()
    expect(html).toContain('<details id="behaviour"><summary>Behaviour</summary>')
    expect(inputs.map(({ name }) => name).sort()).toEqual(["room", ...behaviourParameters].sort())
    for (const { name, attributes } of inputs) {
      expect(attributes.name).toBe(name)
      expect(html).toContain(`<label for="p-${name}">${name}</label>`)
      expect(attributes["aria-describedby"]).toBe(`h-${name}`)
      expect(html).toMatch(new RegExp(`<p id="h-${name}" class="hint">[^<]+ · <span>`))
    }
  })

  it("gives each field the limits the server checks: min and max, bytes, the codes left out, what it needs", async () => {
    const { inputs } = await fields()
    const byName = new Map(inputs.map((input) => [input.name, input.attributes]))
    /** Whether `/echo` takes `name=value`, with the parameter it needs, if any, given a value the server takes. */
    const takes = (name: string, value: string) => {
      const needs = byName.get(name)?.["data-needs"]
      const companion = needs === undefined ? "" : `${needs}=${byName.get(needs)?.min ?? "x"}&`
      const parsed = parseScenario(`/echo?${companion}${name}=${encodeURIComponent(value)}`, limits)
      if (!isScenario(parsed)) expect(parsed._tag === "InvalidRoom" || parsed.name === name, parsed.message).toBe(true)
      return isScenario(parsed)
    }
    const checked = new Set<string>()
    for (const { name, attributes } of inputs) {
      const { type, min, max, pattern } = attributes
      const bytes = attributes["data-bytes"]
      if (type === "number") {
        expect(
          [min, max].every((bound) => bound !== undefined && /^\d+$/.test(bound)),
          name
        ).toBe(true)
        expect([takes(name, min as string), takes(name, max as string)], name).toEqual([true, true])
        expect([takes(name, String(Number(min) - 1)), takes(name, String(Number(max) + 1))], name).toEqual([
          false,
          false
        ])
        for (const gap of attributes["data-gaps"]?.split(" ") ?? []) {
          const [from = "", to = from] = gap.split("-")
          expect([takes(name, from), takes(name, to)], `${name} ${gap}`).toEqual([false, false])
          expect([takes(name, String(Number(from) - 1)), takes(name, String(Number(to) + 1))], gap).toEqual([
            true,
            true
          ])
        }
      } else if (type === "checkbox") {
        // A ticked box is `name=true`; an unticked one is left out.
        expect(takes(name, "true"), name).toBe(true)
      } else if (bytes !== undefined) {
        // Bytes of UTF-8, not characters: two for each é.
        const upTo = "é".repeat(Number(bytes) >> 1) + "!".repeat(Number(bytes) % 2)
        expect([takes(name, upTo), takes(name, `${upTo}!`)], name).toEqual([true, false])
      } else {
        // The browser matches the whole value against the pattern, with the v flag.
        expect(pattern, name).toBeDefined()
        const matches = new RegExp(`^(?:${pattern})$`, "v")
        for (const value of ["a", "Lobby.2_b-c", "x".repeat(64), "x".repeat(65), "a b", "ü", "a/b", "a?"]) {
          expect(matches.test(value), `${name}=${value}`).toBe(takes(name, value))
        }
      }
      const needs = attributes["data-needs"]
      if (needs !== undefined) {
        const alone = parseScenario(`/echo?${name}=${type === "number" ? min : "true"}`, limits)
        expect(isScenario(alone) ? "taken" : alone.message, name).toMatch(
          new RegExp(`^${name} must be given with ${needs}`)
        )
      }
      checked.add(name)
    }
    expect(checked.size).toBe(16)
  })
})

describe("GET / for anything else", () => {
  const description = {
    name,
    version,
    endpoints: [
      {
        method: "GET",
        path: "/echo",
        description: "WebSocket upgrade; every message comes back with the prefix",
        parameters: parameterHelp
      },
      {
        method: "GET",
        path: "/rpc",
        description:
          "WebSocket upgrade; the EchoRpcs procedures (Echo, EchoStream) over @effect/rpc, ?serialization=json (default), ndjson or msgpack"
      },
      { method: "GET", path: "/", description: "this description, or the debug page for Accept: text/html" },
      { method: "GET", path: "/health", description: 'liveness: {"status":"ok"}' },
      { method: "GET", path: "/whoami", description: "what the server sees of this request, as JSON" },
      {
        method: "GET",
        path: "/tap/NAME",
        description:
          "the events of the sockets opened with ?tap=NAME: a WebSocket of them, a page, or the last 100 as JSON"
      }
    ],
    prefix: "echo: ",
    maxMessageBytes: 1_048_576,
    protocols: [],
    pipeline: env.ECHO_PIPELINE,
    backend: env.ECHO_BACKEND
  }

  it("describes the service as JSON, with the configured prefix and limit", async () => {
    for (const headers of [{}, { Accept: "*/*" }, { Accept: "application/json" }, { Accept: "text/plain" }]) {
      const response = await get("/", { headers })
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("application/json")
      expect(response.headers.get("vary")).toBe("Accept")
      expect(response.headers.get("content-security-policy")).toBeNull()
      expect(await response.json()).toEqual(description)
    }
    expect(name).toBe("websocket-echo")
  })

  it("prefers JSON when JSON is weighted above HTML, or HTML is refused", async () => {
    for (const accept of ["application/json, text/html;q=0.5", "text/html;q=0", "*/*, text/html;q=0.1"]) {
      const response = await get("/", { headers: { Accept: accept } })
      expect(response.headers.get("content-type"), accept).toBe("application/json")
    }
  })
})

describe("prefersHtml", () => {
  it("reads Accept the way browsers and CLI clients send it", () => {
    expect(prefersHtml(BROWSER)).toBe(true)
    expect(prefersHtml("text/html")).toBe(true)
    expect(prefersHtml("TEXT/HTML; charset=utf-8")).toBe(true)
    expect(prefersHtml("application/json;q=0.9, text/html")).toBe(true)
    expect(prefersHtml("text/html, application/json")).toBe(true)
    expect(prefersHtml("application/json;q=0, */*;q=0.5, text/html;q=0.2")).toBe(true)
    expect(prefersHtml(undefined)).toBe(false)
    expect(prefersHtml("")).toBe(false)
    expect(prefersHtml("*/*")).toBe(false)
    expect(prefersHtml("application/json")).toBe(false)
    expect(prefersHtml("text/*")).toBe(false)
    expect(prefersHtml("text/html;q=0")).toBe(false)
    expect(prefersHtml("text/html;q=abc")).toBe(false)
    expect(prefersHtml("application/*, text/html;q=0.5")).toBe(false)
  })
})

describe("what a page of another origin may read", () => {
  const ORIGIN = { Origin: "https://elsewhere.example" }

  it("/health, and the 426 or 400 of a plain GET of /echo, which the debug page's Diagnose reads on any deployment", async () => {
    const health = await get("/health", { headers: ORIGIN })
    expect(health.headers.get("access-control-allow-origin")).toBe("*")
    expect(await health.json()).toEqual({ status: "ok" })
    const plain = await get("/echo", { headers: ORIGIN })
    expect(plain.status).toBe(426)
    expect(plain.headers.get("access-control-allow-origin")).toBe("*")
    expect(await plain.json()).toMatchObject({ code: "NOT_WEBSOCKET" })
    const wrong = await get("/echo?colour=red", { headers: ORIGIN })
    expect(wrong.status).toBe(400)
    expect(wrong.headers.get("access-control-allow-origin")).toBe("*")
    await wrong.body?.cancel()
    // Credentials are never allowed: "*" alone.
    expect(health.headers.get("access-control-allow-credentials")).toBeNull()
  })

  it("nothing else: the page, the description, /whoami and a 404 stay same-origin", async () => {
    for (const [path, accept] of [
      ["/", BROWSER],
      ["/", "*/*"],
      ["/whoami", "*/*"],
      ["/nowhere", "*/*"]
    ] as const) {
      const response = await get(path, { headers: { ...ORIGIN, Accept: accept } })
      expect(response.headers.get("access-control-allow-origin"), path).toBeNull()
      await response.body?.cancel()
    }
  })

  it("not a WebSocket's 101, which no page reads over CORS", async () => {
    const response = await get("/echo", { headers: { ...ORIGIN, Upgrade: "websocket" } })
    expect(response.status).toBe(101)
    expect(response.headers.get("access-control-allow-origin")).toBeNull()
    const client = new Client(response.webSocket as WebSocket)
    client.socket.send("still an echo")
    expect(await client.next()).toBe("echo: still an echo")
  })
})

describe("GET /health", () => {
  it("answers {status: ok}, never cached", async () => {
    for (const accept of [BROWSER, "*/*"]) {
      const response = await get("/health", { headers: { Accept: accept } })
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("application/json")
      expect(response.headers.get("cache-control")).toBe("no-store")
      expect(await response.text()).toBe('{"status":"ok"}')
    }
    const head = await get("/health", { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe("")
  })
})

describe("other methods on / and /health", () => {
  it("get the same 405 JSON shape as /echo, with Allow", async () => {
    for (const path of ["/", "/health"]) {
      for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
        const response = await get(path, { method, headers: { Accept: BROWSER } })
        expect(response.status).toBe(405)
        expect(response.headers.get("allow")).toBe("GET, HEAD")
        expect(response.headers.get("content-type")).toBe("application/json")
        expect(await response.json()).toEqual({
          error: `Method ${method} is not allowed; use GET`,
          code: "METHOD_NOT_ALLOWED"
        })
      }
    }
  })
})
