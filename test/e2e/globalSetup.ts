import { mkdir, writeFile } from "node:fs/promises"
import type { TestProject } from "vitest/node"
import { runtimeTrouble } from "../support/runtimeTrouble.js"
import { startWranglerDev } from "../support/wranglerDev.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** `http://127.0.0.1:PORT` of the `wrangler dev` that this run started. */
    origin: string
  }
}

/** Starts `wrangler dev` for the whole run; stops it afterwards (also after failures) and reads what it printed. */
export default async function setup(project: TestProject) {
  const mode = project.getProvidedContext().mode
  const dev = await startWranglerDev({ mode })
  project.provide("origin", dev.origin)
  return async () => {
    await dev.stop()
    const output = dev.output()
    await mkdir("test-results", { recursive: true })
    await writeFile(`test-results/wrangler-dev-${mode}.log`, output)
    const trouble = runtimeTrouble(output)
    if (trouble.length > 0) {
      throw new Error(`wrangler dev reported ${trouble.length} runtime problem(s):\n${trouble.join("\n")}`)
    }
  }
}
