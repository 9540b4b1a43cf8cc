import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { echoUrl, within } from "./wsClient.js"

const wscat = fileURLToPath(new URL("../../node_modules/.bin/wscat", import.meta.url))
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g")

/** wscat in a terminal of its own (`script` gives it a pty), typed into as a person would. */
const terminal = () => {
  const child = spawn("script", ["-qfec", `${wscat} -c ${echoUrl()}`, "/dev/null"], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, TERM: "dumb" }
  })
  let screen = ""
  let waiting: (() => void) | undefined
  const onData = (chunk: Buffer) => {
    screen += chunk.toString("utf8").replace(ANSI, "")
    waiting?.()
  }
  child.stdout.on("data", onData)
  child.stderr.on("data", onData)
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return {
    screen: () => screen,
    /** Resolves once `text` is on the screen. */
    see: (text: string) =>
      within(
        new Promise<void>((resolve) => {
          waiting = () => screen.includes(text) && resolve()
          waiting()
        }),
        () => `"${text}" on wscat's screen, which shows:\n${screen}\n`
      ),
    type: (keys: string) => child.stdin.write(keys),
    exited: () => within(exited, "exit of wscat"),
    kill: () => child.exitCode === null && child.kill("SIGKILL")
  }
}

describe("wscat in a terminal against wrangler dev", () => {
  it("connects, and every line typed comes back with the prefix", async () => {
    const wscat = terminal()
    try {
      await wscat.see("Connected (press CTRL+C to quit)")
      wscat.type("hello\r")
      await wscat.see("< echo: hello")
      wscat.type("héllo wörld 🌍\r")
      await wscat.see("< echo: héllo wörld 🌍")
      wscat.type("\u0003")
      expect(await wscat.exited()).toBe(0)
      expect(wscat.screen()).not.toMatch(/error|disconnected/i)
    } finally {
      wscat.kill()
    }
  })
})
