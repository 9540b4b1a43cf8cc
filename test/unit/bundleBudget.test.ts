import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"
import { bundleReport } from "../../bench/bundleReport.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const budget = JSON.parse(readFileSync(`${root}bench/budget.json`, "utf8")) as {
  readonly evaluatedAtLoadKiBGzip: number
}

// The budget is today's figure plus a small margin, not issue 25's 60 KiB goal: bench/budget.json says why.
it(`the code a cold isolate evaluates before /echo can answer stays within ${budget.evaluatedAtLoadKiBGzip} KiB gzip (bench/budget.json)`, () => {
  const out = mkdtempSync(join(tmpdir(), "echo-budget-"))
  try {
    execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", out, "--metafile", join(out, "meta.json")], {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      stdio: "ignore",
      timeout: 60_000
    })
    const report = bundleReport(join(out, "meta.json"), root)
    const kib = (bytes: number) => Math.round((bytes / 1024) * 10) / 10
    expect(kib(report.atLoad.gzip), `evaluated at load: ${report.atLoad.modules} modules`).toBeLessThanOrEqual(
      budget.evaluatedAtLoadKiBGzip
    )
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}, 90_000)
