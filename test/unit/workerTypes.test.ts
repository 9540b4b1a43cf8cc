import { execFileSync } from "node:child_process"
import { readFileSync, rmSync } from "node:fs"
import { expect, it } from "vitest"

/** The file without its first comment's command line, which names the path it was written to. */
const body = (path: string) => readFileSync(path, "utf8").replace(/running `wrangler types[^`]*`/, "running …")

// wrangler dev warns at every start when the checked-in types no longer match wrangler.toml.
it("worker-configuration.d.ts is what `npm run types` writes for today's wrangler.toml", () => {
  // Beside the real one, so that its imports are relative to the same folder.
  const fresh = `worker-configuration.check-${process.pid}.d.ts`
  try {
    execFileSync("npx", ["wrangler", "types", fresh, "--include-runtime=false", "--strict-vars=false"], {
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      stdio: "ignore",
      timeout: 30_000
    })
    expect(body("worker-configuration.d.ts")).toBe(body(fresh))
  } finally {
    rmSync(fresh, { force: true })
  }
}, 40_000)
