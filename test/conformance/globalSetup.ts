import type { TestProject } from "vitest/node"
import { startWranglerDev } from "../support/wranglerDev.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** Port of the `wrangler dev` shared by the suite, with the wrangler.toml defaults. */
    port: number
  }
}

/** Starts the Worker under `wrangler dev` once for the whole suite. */
export default async function setup(project: TestProject) {
  const server = await startWranglerDev({ mode: project.getProvidedContext().mode })
  project.provide("port", server.port)
  return () => server.stop()
}
