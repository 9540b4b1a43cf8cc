import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { startWorkerd, type WorkerdServe } from "../support/workerdServe.js"

export type { WorkerdServe } from "../support/workerdServe.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

const run = (command: string, args: ReadonlyArray<string>) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: "ignore",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" }
    })
    child.once("error", reject)
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))))
  })

/**
 * The deployable bundle served by plain `workerd serve`: no dev proxy, no dev middleware in front of it.
 * Bundles the Worker as `wrangler deploy --dry-run` does into a temp dir, and serves it with the workerd
 * binary that wrangler ships, with wrangler.toml's compatibility date, flags and `[vars]`, and Durable Object
 * storage in memory or on disk (see `WorkerdOptions.storage`).
 */
export const startWorkerdServe = async (
  overrides: Record<string, string> = {},
  storage: "memory" | "disk" = "memory"
): Promise<WorkerdServe> => {
  const dir = mkdtempSync(join(tmpdir(), "echo-workerd-"))
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  try {
    await run(`${root}node_modules/.bin/wrangler`, ["deploy", "--dry-run", "--outdir", dir])
    const served = await startWorkerd({ dir, overrides, storage })
    return {
      ...served,
      stop: async () => {
        await served.stop()
        removeDir()
      }
    }
  } catch (error) {
    removeDir()
    throw error
  }
}
