import { mkdir, writeFile } from "node:fs/promises"
import type { TestProject } from "vitest/node"
import { startWranglerDev } from "../support/wranglerDev.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** `http://127.0.0.1:PORT` of the `wrangler dev` that this run started. */
    origin: string
  }
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")

/** Lines of runtime output that mean a socket or a request went wrong, whatever the clients saw. */
const TROUBLE = /hung|Uncaught|Cannot perform I\/O on behalf of a different request/

/**
 * wrangler dev prints this for a hand-written plain Worker too, each time a client closes a socket on which it
 * never sent a message (measured): the dev runtime's, not the echo's. Anything else that matches `TROUBLE` fails.
 */
const PLATFORM_NOISE = "✘ [ERROR] Uncaught Error: Network connection lost."

/** The lines of wrangler dev's output that point at a problem in the Worker. */
export const runtimeTrouble = (output: string): Array<string> =>
  output
    .replace(ANSI, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => TROUBLE.test(line) && line !== PLATFORM_NOISE)

/** Starts `wrangler dev` for the whole run; stops it afterwards (also after failures) and reads what it printed. */
export default async function setup(project: TestProject) {
  const dev = await startWranglerDev()
  project.provide("origin", dev.origin)
  return async () => {
    await dev.stop()
    const output = dev.output()
    await mkdir("test-results", { recursive: true })
    await writeFile("test-results/wrangler-dev.log", output)
    const trouble = runtimeTrouble(output)
    if (trouble.length > 0) {
      throw new Error(`wrangler dev reported ${trouble.length} runtime problem(s):\n${trouble.join("\n")}`)
    }
  }
}
