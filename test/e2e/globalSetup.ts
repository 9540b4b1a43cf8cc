import { mkdir, writeFile } from "node:fs/promises"
import type { TestProject } from "vitest/node"
import { runtimeTrouble } from "../support/runtimeTrouble.js"
import { startWranglerDev, stopAllServers } from "../support/wranglerDev.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** `http://127.0.0.1:PORT` of the `wrangler dev` that this run started. */
    origin: string
    /**
     * A fixture Worker (`test/fixtures/NAME/wrangler.toml`) that the project runs instead of the product; such
     * a project has no mode.
     */
    fixture?: string
  }
}

/**
 * Starts `wrangler dev` for the whole run, of the product in the project's mode or of its fixture Worker;
 * stops it afterwards (also after failures) and reads what it printed.
 */
export default async function setup(project: TestProject) {
  const { mode, fixture } = project.getProvidedContext()
  const dev = await startWranglerDev(
    fixture === undefined ? { mode } : { config: `test/fixtures/${fixture}/wrangler.toml` }
  )
  project.provide("origin", dev.origin)
  return async () => {
    await dev.stop()
    const output = dev.output()
    await mkdir("test-results", { recursive: true })
    await writeFile(`test-results/wrangler-dev-${fixture ?? mode}.log`, output)
    const trouble = runtimeTrouble(output)
    if (trouble.length > 0) {
      // The other projects' teardowns do not run after this one throws: their servers are stopped first.
      await stopAllServers()
      throw new Error(`wrangler dev reported ${trouble.length} runtime problem(s):\n${trouble.join("\n")}`)
    }
  }
}
