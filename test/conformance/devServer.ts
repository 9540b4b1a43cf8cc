import { writeFileSync } from "node:fs"
import { afterAll, beforeAll, inject } from "vitest"
import { startWranglerDev, type WranglerDev } from "../support/wranglerDev.js"

/** What a file's own server offers its cases: its port and what it has printed so far. */
export interface DevServer {
  readonly port: number
  readonly output: () => string
}

/**
 * A `wrangler dev` of the product of its own, in this project's mode with `vars`, started before the calling
 * file's cases and stopped after them. `DUMP_LOG=FILE` keeps what it printed.
 */
export const devServer = (vars: Record<string, string>): DevServer => {
  let server: WranglerDev | undefined
  const started = (): WranglerDev => {
    if (server === undefined) throw new Error("the file's server has not started")
    return server
  }
  beforeAll(async () => {
    server = await startWranglerDev({ mode: inject("mode"), vars })
  })
  afterAll(async () => {
    if (process.env.DUMP_LOG && server !== undefined) writeFileSync(process.env.DUMP_LOG, server.output())
    await server?.stop()
  })
  return {
    get port() {
      return started().port
    },
    output: () => started().output()
  }
}
