import { spawn } from "node:child_process"
import { describe, expect, inject, it } from "vitest"
import WebSocket from "ws"
import { freePort, stopProcess, tracked } from "../support/wranglerDev.js"

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")

/** Waits until `output()` matches `pattern`, for at most `ms`; fails naming what it waited for. */
const until = async (output: () => string, pattern: RegExp, ms: number) => {
  const deadline = Date.now() + ms
  while (!pattern.test(output())) {
    if (Date.now() > deadline) throw new Error(`npm run dev printed no ${pattern} within ${ms} ms:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// The newcomer's command itself, once: the mode does not change what it prints.
describe.runIf(inject("mode") === "stream")("npm run dev", () => {
  it("prints a banner once ready, and explains the runtime's own error-looking line once", async () => {
    const port = await freePort()
    const child = spawn("npm", ["run", "dev", "--", "--port", String(port)], { detached: true })
    const stop = tracked(() => stopProcess(child))
    let text = ""
    child.stdout.on("data", (chunk) => (text += chunk))
    child.stderr.on("data", (chunk) => (text += chunk))
    const output = () => text.replace(ANSI, "")
    try {
      await until(output, /websocket-echo is serving/, 60_000)
      const origin = `http://127.0.0.1:${port}`
      expect(output()).toContain(`websocket-echo is serving ws://127.0.0.1:${port}/echo`)
      expect(output()).toContain(`the debug page:   ${origin}/`)
      expect(output()).toContain(`npx wscat -c ws://127.0.0.1:${port}/echo`)
      expect(output()).not.toMatch(/types might be out of date/)
      // Two clients that close without sending a message: the runtime's line each time, the note once.
      for (let i = 0; i < 2; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`)
        await new Promise((resolve) => ws.on("open", resolve))
        ws.close(1000)
        await new Promise((resolve) => ws.on("close", resolve))
      }
      await until(output, /(Network connection lost[\s\S]*){2}/, 15_000)
      expect(output().match(/a client closed a socket on which it had sent no message/g)).toHaveLength(1)
    } finally {
      await stop()
    }
  }, 120_000)
})
