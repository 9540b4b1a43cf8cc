import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { run } from "./cli.js"
import { echoUrl } from "./wsClient.js"

const script = fileURLToPath(new URL("echo_client.py", import.meta.url))

describe("Python websockets against the echo under wrangler dev", () => {
  it("sees text, UTF-8, binary, the mirrored close, 1009 above the limit and the agreed subprotocol", async () => {
    // Debian's interpreter, where python3-websockets is installed; not whatever python3 comes first on PATH.
    const { code, stdout, stderr } = await run("/usr/bin/python3", [script, echoUrl()])
    expect({ code, stdout, stderr }).toEqual({
      code: 0,
      stdout: [
        "ok text",
        "ok utf-8 text",
        "ok binary stays binary",
        "ok close code mirrored",
        "ok close reason mirrored",
        "ok message of exactly the limit",
        "ok limit + 1 closes with 1009",
        "ok first subprotocol agreed",
        "ok echo through the subprotocol",
        ""
      ].join("\n"),
      stderr: ""
    })
  })

  it("fails, naming the check, when the echo is not what it expects", async () => {
    const { code, stdout } = await run("/usr/bin/python3", [script, echoUrl(), "other: "])
    expect(code).toBe(1)
    expect(stdout).toBe("FAIL AssertionError text: expected 'other: hello', got 'echo: hello'\n")
  })
})
