// Where a cold isolate's start-up time goes in our Worker: `wrangler check startup` profiles the evaluation of the
// bundle's modules (a dynamic `import()` of it inside a request, so no runtime build and no route), sampling every
// ≈ 1 ms; one start-up is ≈ 20 samples, so the profile is taken several times and the samples added up.
import { execFileSync } from "node:child_process"
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs"
import { packageOf } from "./bundleReport.js"
import { modulesOf, type Profile } from "./profile.js"
import { root } from "./targets.js"

export interface Row {
  readonly name: string
  /** Self time per start-up, ms (all runs' samples added up, divided by the runs). */
  readonly ms: number
  /** Percent of the busy (non-idle) samples. */
  readonly percent: number
}

export interface StartupProfile {
  readonly runs: number
  /** The bundle profiled: ours as `npm run build` bundles it, unminified so that functions keep their names. */
  readonly bundle: string
  /** The median interval between samples, ms. */
  readonly intervalMs: number
  readonly samples: number
  /** Non-idle time per start-up, ms. */
  readonly busyMs: number
  /** GC, `(program)` (compiling, the runtime's own work), the bundle's top-level statements, its functions. */
  readonly byKind: readonly Row[]
  /** The bundle's functions' self time by package (`ours` is src/). */
  readonly byPackage: readonly Row[]
  readonly byModule: readonly Row[]
  readonly byFunction: readonly Row[]
  /** Where one run's profile was copied (open it in Chrome DevTools). */
  readonly kept?: string
}

const TOP_LEVEL = "top-level statements of the bundle (module evaluation outside functions)"

const sampleTimes = (profile: Profile): number[] => {
  // Each sample stands for the time until the next one; the first delta is the wait before sampling began.
  const deltas = profile.timeDeltas.slice(1)
  const sorted = [...deltas].sort((a, b) => a - b)
  const interval = sorted[sorted.length >> 1] ?? 1000
  return profile.samples.map((_, i) => deltas[i] ?? interval)
}

const rows = (entries: Map<string, number>, runs: number, busy: number, top: number): Row[] =>
  [...entries.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000 / runs, percent: (100 * us) / busy }))

/**
 * Bundles our Worker unminified (`wrangler deploy --dry-run --outfile`, the upload form `--worker` takes), runs
 * `wrangler check startup` on it `runs` times, and adds up the samples: self time by kind, package, module and
 * function. One run's `.cpuprofile` is copied to `keep`, when given.
 */
export const startupProfile = (runs: number, keep?: string): StartupProfile => {
  const dir = `${root}bench/.build/startup-profile/`
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const wrangler = `${root}node_modules/.bin/wrangler`
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" }
  const run = (args: string[]) => execFileSync(wrangler, args, { cwd: root, stdio: "ignore", env, timeout: 120_000 })
  run(["deploy", "--dry-run", "--minify=false", "--outfile", `${dir}worker.bundle`])
  run(["deploy", "--dry-run", "--minify=false", "--outdir", dir])
  const bundle = readFileSync(`${dir}worker.js`, "utf8")
  const moduleOf = modulesOf(bundle)
  const kinds = new Map<string, number>()
  const packages = new Map<string, number>()
  const modules = new Map<string, number>()
  const functions = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us)
  let busy = 0
  let samples = 0
  const intervals: number[] = []
  for (let i = 0; i < runs; i++) {
    const file = `${dir}run-${i + 1}.cpuprofile`
    run(["check", "startup", "--worker", `${dir}worker.bundle`, "--outfile", file])
    const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
    if (i === 0 && keep !== undefined) copyFileSync(file, keep)
    const byId = new Map(profile.nodes.map((node) => [node.id, node]))
    const times = sampleTimes(profile)
    intervals.push(...profile.timeDeltas.slice(1))
    profile.samples.forEach((sample, s) => {
      const frame = byId.get(sample)?.callFrame
      const us = times[s] ?? 0
      samples++
      if (frame === undefined || frame.functionName === "(idle)") return
      busy += us
      if (frame.functionName === "(garbage collector)") add(kinds, "GC", us)
      else if (!frame.url.endsWith("worker.js")) add(kinds, `runtime: ${frame.functionName || frame.url}`, us)
      else if (frame.lineNumber < 0) add(kinds, TOP_LEVEL, us)
      else {
        add(kinds, "the bundle's functions", us)
        const module = moduleOf(frame.lineNumber)
        add(packages, packageOf(module), us)
        add(modules, module, us)
        add(functions, `${frame.functionName || "(anonymous)"} (${module}, line ${frame.lineNumber + 1})`, us)
      }
    })
  }
  const sorted = intervals.sort((a, b) => a - b)
  return {
    runs,
    bundle: "bench/.build/startup-profile/worker.js",
    intervalMs: (sorted[sorted.length >> 1] ?? 0) / 1000,
    samples,
    busyMs: busy / 1000 / runs,
    byKind: rows(kinds, runs, busy, 10),
    byPackage: rows(packages, runs, busy, 10),
    byModule: rows(modules, runs, busy, 15),
    byFunction: rows(functions, runs, busy, 20),
    ...(keep === undefined ? {} : { kept: keep.startsWith(root) ? keep.slice(root.length) : keep })
  }
}
