import { copyFileSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { startWorkerd, type WorkerdServe } from "../support/workerdServe.js"
import { platformGap } from "./platformGap.js"
import { handshake } from "./rawSocket.js"

/**
 * The runtime's own rule for sending a Worker's 101, which `isRuntimeUpgradable` copies: raw `workerd serve` with a
 * Worker that answers 101 to anything naming websocket. The rule belongs to the runtime, not to a mode, so it runs
 * in one project.
 */
describe.runIf(inject("mode") === "stream")("the runtime's rule for a 101 (raw workerd serve)", () => {
  let dir: string
  let server: WorkerdServe
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "echo-upgrade-rule-"))
    copyFileSync(fileURLToPath(new URL("fixtures/upgradeAnything.js", import.meta.url)), join(dir, "worker.js"))
    server = await startWorkerd({
      dir,
      vars: {},
      durableObjects: [],
      ready: (port) =>
        fetch(`http://127.0.0.1:${port}/`).then(
          async (response) => (await response.text()) === "ready",
          () => false
        )
    })
  })
  afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const statusFor = async (upgrade: string | ReadonlyArray<string>) => {
    const { socket, head } = await handshake(server.port, { headers: { Upgrade: upgrade } })
    socket.destroy()
    return head.status
  }

  it("sends the 101 when the Upgrade value is exactly websocket, in any case", async () => {
    for (const upgrade of ["websocket", "WebSocket", "WEBSOCKET"]) expect(await statusFor(upgrade), upgrade).toBe(101)
  })

  platformGap(
    "a token list or trailing white space in Upgrade turns the Worker's 101 into a 500 (we answer 400 first)",
    () => Promise.all(["websocket, h2c", "h2c, websocket", ["websocket", "h2c"], "websocket "].map(statusFor)),
    {
      rfc: (statuses) => expect(statuses).toEqual([101, 101, 101, 101]),
      observed: (statuses) => expect(statuses).toEqual([500, 500, 500, 500])
    }
  )
})
