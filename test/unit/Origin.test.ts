import { assert, describe, it } from "@effect/vitest"
import { isOriginAllowed, normalizeOrigin } from "../../src/domain/Origin.js"

describe("normalizeOrigin", () => {
  it("lower-cases scheme and host and drops the scheme's default port", () => {
    const cases: Array<[string, string]> = [
      ["https://example.com", "https://example.com"],
      ["HTTPS://Example.COM", "https://example.com"],
      ["https://example.com:443", "https://example.com"],
      ["http://example.com:80", "http://example.com"],
      ["http://example.com:443", "http://example.com:443"],
      ["https://example.com:80", "https://example.com:80"],
      ["wss://example.com:443", "wss://example.com"],
      ["http://localhost:8787", "http://localhost:8787"],
      ["http://127.0.0.1:08787", "http://127.0.0.1:8787"],
      ["http://[::1]:3000", "http://[::1]:3000"],
      ["https://bücher.de", "https://xn--bcher-kva.de"],
      ["chrome-extension://AbCdEf", "chrome-extension://abcdef"],
      ["  https://example.com  ", "https://example.com"]
    ]
    for (const [input, expected] of cases) assert.strictEqual(normalizeOrigin(input), expected, input)
  })

  it("refuses what is not an origin: paths, queries, credentials, opaque and malformed values", () => {
    for (const input of [
      "",
      "null",
      "example.com",
      "https://example.com/",
      "https://example.com/path",
      "https://example.com?x",
      "https://example.com#x",
      "https://user@example.com",
      "https://example.com:99999",
      "https://exa mple.com",
      "https://",
      "https://a.com, https://b.com",
      "file:///etc/passwd"
    ]) {
      assert.isUndefined(normalizeOrigin(input), input)
    }
  })
})

describe("isOriginAllowed", () => {
  const listed = { allowedOrigins: ["https://example.com", "http://localhost:8787"], requireOrigin: false }

  it("allows every origin, and no origin, when nothing is listed", () => {
    const open = { allowedOrigins: [], requireOrigin: false }
    for (const origin of ["https://evil.test", "null", "garbage", undefined]) {
      assert.isTrue(isOriginAllowed(open, origin), String(origin))
    }
  })

  it("allows exactly the listed origins, whatever their case and default port", () => {
    for (const origin of [
      "https://example.com",
      "HTTPS://EXAMPLE.COM",
      "https://example.com:443",
      "http://localhost:8787"
    ]) {
      assert.isTrue(isOriginAllowed(listed, origin), origin)
    }
    for (const origin of [
      "http://example.com",
      "https://example.com:8443",
      "https://sub.example.com",
      "https://example.com.evil.test",
      "https://evil.test",
      "http://localhost",
      "null",
      "https://example.com, https://evil.test"
    ]) {
      assert.isFalse(isOriginAllowed(listed, origin), origin)
    }
  })

  it("allows a request without Origin unless an Origin is required", () => {
    assert.isTrue(isOriginAllowed(listed, undefined))
    assert.isFalse(isOriginAllowed({ ...listed, requireOrigin: true }, undefined))
    assert.isFalse(isOriginAllowed({ allowedOrigins: [], requireOrigin: true }, undefined))
    assert.isTrue(isOriginAllowed({ allowedOrigins: [], requireOrigin: true }, "https://any.test"))
  })
})
