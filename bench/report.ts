// Turns the runs into medians, paired ratios, a markdown table and an SVG chart.
import type { BundleReport } from "./bundleReport.js"
import type { StartupProfile } from "./startupProfile.js"

/** One target in one workload in one repetition. */
export interface Run {
  readonly rep: number
  /** Within a repetition, the round of a workload measured many times over (cold starts): pairs are per round. */
  readonly round?: number
  readonly workload: string
  readonly target: string
  readonly figures: Record<string, number>
}

export interface Figure {
  readonly workload: string
  readonly target: string
  readonly figure: string
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
  /** The values added up (for `valid`: how many repetitions were valid). */
  readonly sum: number
}

export interface Ratio {
  readonly name: string
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
  readonly goal?: string
  readonly met?: boolean
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

const spread = (values: readonly number[]) => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values),
  n: values.length
})

export const summarize = (runs: readonly Run[]): Figure[] => {
  const groups = new Map<string, { workload: string; target: string; figure: string; values: number[] }>()
  for (const run of runs) {
    for (const [figure, value] of Object.entries(run.figures)) {
      const key = `${run.workload}\u0000${run.target}\u0000${figure}`
      const group = groups.get(key) ?? { workload: run.workload, target: run.target, figure, values: [] }
      group.values.push(value)
      groups.set(key, group)
    }
  }
  return [...groups.values()].map(({ values, ...rest }) => ({
    ...rest,
    ...spread(values),
    sum: values.reduce((a, b) => a + b, 0)
  }))
}

const PING_PONG = "1 conn ping-pong"
const CLOSED_100 = "100 conns closed loop"
const RAMP = "ramp to"
const REQUESTS = "HTTP GETs"
const REQUESTS_BOTH = (w: string) => w.startsWith(REQUESTS) && w.endsWith(": both")
const REQUESTS_426 = (w: string) => w.startsWith(REQUESTS) && w.endsWith(": 426")
const REQUESTS_HEALTH = (w: string) => w.startsWith(REQUESTS) && w.endsWith(": /health")
const UPGRADES = "upgrades:"
const COLD_START = "cold start"
/** The workload name of the RPC calls (its own prefix: never a match for `CLOSED_100`). */
export const RPC_CALLS = "Echo RPC calls"

/** Our Worker's modes and the comparisons, each against its own baseline: name, target, baseline. */
const MODES: ReadonlyArray<readonly [string, string, string]> = [
  ["effect/plain", "T3", "T2"],
  ["hono/plain", "T4", "T2"],
  ["effect-handler/plain", "T3h", "T2"],
  ["effect-do/plain-do", "T6", "T5"],
  ["plain-do/plain", "T5", "T2"],
  // With --targets ...,T3-ref,T3h-ref --reference dist-of-another-commit/worker.js: each pipeline against its old build.
  ["this build/reference build", "T3", "T3-ref"],
  ["this build/reference build, handler", "T3h", "T3h-ref"],
  ["this build/reference build, durable object", "T6", "T6-ref"]
]

/** The cold-start ratios to the plain Worker (T2), by target: the name each ratio starts with. */
export const COLD_START_PAIRS: Readonly<Record<string, string>> = {
  T3: "effect/plain",
  T3h: "effect-handler/plain",
  T4: "hono/plain",
  T5: "plain-do/plain",
  T6: "effect-do/plain",
  "T3-load": "effect modules loaded/plain",
  "T3-built": "effect runtime built/plain",
  "T3-ref": "reference/plain",
  "T3h-ref": "reference-handler/plain",
  "T6-ref": "reference-do/plain",
  T7: "socket-echo/plain",
  T8: "plain-ndjson/plain",
  T9: "consumer/plain"
}

/** The cold-start figures, by the words their ratios and headline lines end with. */
const COLD_START_FIGURES = [
  ["time to first response", "firstResponseMs"],
  ["time to first echo", "firstEchoMs"],
  // A plain `GET /echo`: the Socket echo (T7) serves nothing else, so this is its first answer; against plain's.
  ["time to first 426", "first426Ms"]
] as const

/**
 * The first `Echo` RPC call on a fresh isolate (`firstRpcMs`), against first answers of another kind: plain's
 * first `/health`, our own first `/health` in the same round, the NDJSON Worker's first call. Name, target,
 * its figure, baseline, the baseline's figure.
 */
export const COLD_START_RPC: ReadonlyArray<readonly [string, string, string, string, string]> = [
  ["effect first rpc call/plain first response", "T3", "firstRpcMs", "T2", "firstResponseMs"],
  ["effect first rpc call/effect first response", "T3", "firstRpcMs", "T3", "firstResponseMs"],
  ["effect/plain-ndjson time to first rpc call", "T3", "firstRpcMs", "T8", "firstRpcMs"],
  ["plain-ndjson first rpc call/plain first response", "T8", "firstRpcMs", "T2", "firstResponseMs"]
]

/** Each ratio is taken within one repetition (the two targets ran back to back), then the median is taken. */
const SPECS: ReadonlyArray<{
  name: string
  /** The workload's name starts with this (or the predicate holds). */
  workload: string | ((workload: string) => boolean)
  figure: string
  num: string
  den: string
  /** The baseline's figure, when it is another than `figure`. */
  denFigure?: string
  goal?: { text: string; ok: (r: number) => boolean }
}> = [
  {
    name: "effect/plain msgs/s",
    workload: CLOSED_100,
    figure: "msgsPerSec",
    num: "T3",
    den: "T2",
    goal: { text: "≥ 0.95", ok: (r) => r >= 0.95 }
  },
  {
    name: "effect/plain msgs per server-CPU-s",
    workload: CLOSED_100,
    figure: "msgsPerServerCpuSec",
    num: "T3",
    den: "T2",
    goal: { text: "≥ 0.95", ok: (r) => r >= 0.95 }
  },
  {
    name: "effect/plain p99, 1 conn",
    workload: PING_PONG,
    figure: "p99Us",
    num: "T3",
    den: "T2",
    goal: { text: "≤ 1.10", ok: (r) => r <= 1.1 }
  },
  { name: "effect/plain round trips/s, 1 conn", workload: PING_PONG, figure: "msgsPerSec", num: "T3", den: "T2" },
  {
    name: "effect/plain RSS per idle conn",
    workload: RAMP,
    figure: "rssPerIdleConnKiB",
    num: "T3",
    den: "T2",
    goal: { text: "≤ 1.20", ok: (r) => r <= 1.2 }
  },
  { name: "workerd plain/Node ws msgs/s", workload: CLOSED_100, figure: "msgsPerSec", num: "T2", den: "T1" },
  {
    name: "workerd plain/Node ws msgs per server-CPU-s",
    workload: CLOSED_100,
    figure: "msgsPerServerCpuSec",
    num: "T2",
    den: "T1"
  },
  { name: "Node ws/TCP msgs/s", workload: CLOSED_100, figure: "msgsPerSec", num: "T1", den: "T0" },
  {
    name: "wrangler dev/workerd serve msgs/s, plain",
    workload: CLOSED_100,
    figure: "msgsPerSec",
    num: "T2-dev",
    den: "T2"
  },
  {
    name: "wrangler dev/workerd serve msgs/s, effect",
    workload: CLOSED_100,
    figure: "msgsPerSec",
    num: "T3-dev",
    den: "T3"
  },
  {
    name: "wrangler dev/workerd serve msgs per server-CPU-s, effect",
    workload: CLOSED_100,
    figure: "msgsPerServerCpuSec",
    num: "T3-dev",
    den: "T3"
  },
  {
    name: "effect/plain msgs/s, wrangler dev",
    workload: CLOSED_100,
    figure: "msgsPerSec",
    num: "T3-dev",
    den: "T2-dev"
  },
  // With --targets ...,T3-ref --reference dist-of-another-commit/worker.js: one change measured side by side.
  { name: "this build/reference build msgs/s", workload: CLOSED_100, figure: "msgsPerSec", num: "T3", den: "T3-ref" },
  {
    name: "this build/reference build, handler msgs/s",
    workload: CLOSED_100,
    figure: "msgsPerSec",
    num: "T3h",
    den: "T3h-ref"
  },
  {
    name: "this build/reference build, handler msgs per server-CPU-s",
    workload: CLOSED_100,
    figure: "msgsPerServerCpuSec",
    num: "T3h",
    den: "T3h-ref"
  },
  {
    name: "this build/reference build, durable object msgs/s",
    workload: CLOSED_100,
    figure: "msgsPerSec",
    num: "T6",
    den: "T6-ref"
  },
  {
    name: "this build/reference build, durable object msgs per server-CPU-s",
    workload: CLOSED_100,
    figure: "msgsPerServerCpuSec",
    num: "T6",
    den: "T6-ref"
  },
  {
    name: "this build/reference build msgs per server-CPU-s",
    workload: CLOSED_100,
    figure: "msgsPerServerCpuSec",
    num: "T3",
    den: "T3-ref"
  },
  {
    name: "this build/reference build round trips/s, 1 conn",
    workload: PING_PONG,
    figure: "msgsPerSec",
    num: "T3",
    den: "T3-ref"
  },
  {
    name: "reference/plain msgs per server-CPU-s",
    workload: CLOSED_100,
    figure: "msgsPerServerCpuSec",
    num: "T3-ref",
    den: "T2"
  },
  {
    name: "effect-socket/plain msgs/s",
    workload: CLOSED_100,
    figure: "msgsPerSec",
    num: "T7",
    den: "T2",
    goal: { text: "≥ 0.90", ok: (r) => r >= 0.9 }
  },
  {
    name: "effect-socket/plain msgs per server-CPU-s",
    workload: CLOSED_100,
    figure: "msgsPerServerCpuSec",
    num: "T7",
    den: "T2",
    goal: { text: "≥ 0.90", ok: (r) => r >= 0.9 }
  },
  { name: "effect-socket/plain p99, 1 conn", workload: PING_PONG, figure: "p99Us", num: "T7", den: "T2" },
  {
    name: "effect-socket/plain round trips/s, 1 conn",
    workload: PING_PONG,
    figure: "msgsPerSec",
    num: "T7",
    den: "T2"
  },
  {
    name: "effect-socket/effect-handler msgs per server-CPU-s",
    workload: CLOSED_100,
    figure: "msgsPerServerCpuSec",
    num: "T7",
    den: "T3h"
  },
  { name: "rpc/plain-ndjson calls/s", workload: RPC_CALLS, figure: "callsPerSec", num: "T3", den: "T8" },
  {
    name: "rpc/plain-ndjson calls per server-CPU-s",
    workload: RPC_CALLS,
    figure: "callsPerServerCpuSec",
    num: "T3",
    den: "T8"
  },
  { name: "rpc/plain-ndjson p99", workload: RPC_CALLS, figure: "p99Us", num: "T3", den: "T8" },
  ...MODES.filter(([name]) => name !== "effect/plain" && !name.startsWith("this build")).flatMap(([name, num, den]) => [
    { name: `${name} msgs/s`, workload: CLOSED_100, figure: "msgsPerSec", num, den },
    { name: `${name} msgs per server-CPU-s`, workload: CLOSED_100, figure: "msgsPerServerCpuSec", num, den },
    { name: `${name} p99, 1 conn`, workload: PING_PONG, figure: "p99Us", num, den }
  ]),
  ...MODES.flatMap(([name, num, den]) => [
    { name: `${name} requests per CPU-s`, workload: REQUESTS_BOTH, figure: "requestsPerServerCpuSec", num, den },
    { name: `${name} requests per CPU-s, 426`, workload: REQUESTS_426, figure: "requestsPerServerCpuSec", num, den },
    {
      name: `${name} requests per CPU-s, /health`,
      workload: REQUESTS_HEALTH,
      figure: "requestsPerServerCpuSec",
      num,
      den
    },
    { name: `${name} requests/s`, workload: REQUESTS_BOTH, figure: "requestsPerSec", num, den },
    { name: `${name} upgrades per CPU-s`, workload: UPGRADES, figure: "upgradesPerServerCpuSec", num, den },
    { name: `${name} upgrades/s`, workload: UPGRADES, figure: "upgradesPerSec", num, den },
    { name: `${name} KiB per socket`, workload: UPGRADES, figure: "rssPerSocketKiB", num, den },
    // Against plain, the cold starts are in COLD_START_PAIRS.
    ...(den === "T2"
      ? []
      : COLD_START_FIGURES.map(([words, figure]) => ({
          name: `${name} ${words}`,
          workload: COLD_START,
          figure,
          num,
          den
        })))
  ]),
  ...Object.entries(COLD_START_PAIRS).flatMap(([num, name]) =>
    COLD_START_FIGURES.map(([words, figure]) => ({
      name: `${name} ${words}`,
      workload: COLD_START,
      figure,
      num,
      den: "T2"
    }))
  ),
  ...COLD_START_RPC.map(([name, num, figure, den, denFigure]) => ({
    name,
    workload: COLD_START,
    figure,
    num,
    den,
    denFigure
  }))
]

const pairedRatios = (
  runs: readonly Run[],
  workload: string | ((workload: string) => boolean),
  figure: string,
  num: string,
  den: string,
  denFigure = figure
): number[] => {
  const matches = typeof workload === "string" ? (w: string) => w.startsWith(workload) : workload
  const pairs = new Map<string, { a?: number; b?: number }>()
  for (const r of runs) {
    if (!matches(r.workload)) continue
    const key = `${r.rep}.${r.round ?? ""}`
    const pair = pairs.get(key) ?? {}
    // The first of each, as before rounds existed. A target may be its own baseline, in another figure.
    if (r.target === num && r.figures[figure] !== undefined) pair.a ??= r.figures[figure]
    if (r.target === den && r.figures[denFigure] !== undefined) pair.b ??= r.figures[denFigure]
    pairs.set(key, pair)
  }
  return [...pairs.values()].flatMap(({ a, b }) => (a !== undefined && b !== undefined && b !== 0 ? [a / b] : []))
}

/** One phase of our Worker's cold start: the median of its paired differences, ms. */
export interface Phase {
  readonly name: string
  readonly from: string
  readonly to: string
  readonly ms: number
  readonly min: number
  readonly max: number
  readonly n: number
}

/**
 * Our Worker's time to first `/health` answer, split by the start-up variants: each phase is the difference of two
 * targets' `firstResponseMs` in the same round, and its median over the rounds.
 */
export const startupBreakdown = (runs: readonly Run[]): Phase[] =>
  differences(runs, [
    ["loading and evaluating our modules", "T2", "T3-load"],
    ["building the runtime", "T3-load", "T3-built"],
    ["the first request through the route", "T3-built", "T3"],
    ["all of it (ours over plain)", "T2", "T3"]
  ])

/**
 * What the first `/rpc` call costs over our first `/health`, and what the Workers adapter alone (the Socket echo,
 * T7) and the consumer example (T9) cost over plain to their first 426 and first echo: medians of differences
 * paired per round, ms.
 */
export const coldStartDifferences = (runs: readonly Run[]): Phase[] =>
  differences(runs, [
    ["ours, first /rpc call − first /health", "T3", "T3", "firstResponseMs", "firstRpcMs"],
    ["ours, first /rpc call − plain's first /health", "T2", "T3", "firstResponseMs", "firstRpcMs"],
    ["Workers adapter − plain, first 426", "T2", "T7", "first426Ms", "first426Ms"],
    ["Workers adapter − plain, first echo", "T2", "T7", "firstEchoMs", "firstEchoMs"],
    ["consumer example − plain, first 426", "T2", "T9", "first426Ms", "first426Ms"],
    ["consumer example − plain, first echo", "T2", "T9", "firstEchoMs", "firstEchoMs"]
  ])

/** Each difference `to`'s figure − `from`'s (default `firstResponseMs`) in the same round, its median over the rounds. */
const differences = (
  runs: readonly Run[],
  specs: ReadonlyArray<readonly [string, string, string, string?, string?]>
): Phase[] => {
  const at = new Map<string, number>()
  for (const r of runs)
    if (r.workload.startsWith(COLD_START) && r.figures.valid !== 0)
      for (const [figure, value] of Object.entries(r.figures))
        at.set(`${r.rep}.${r.round ?? ""}.${r.target}.${figure}`, value)
  const rounds = [...new Set(runs.map((r) => `${r.rep}.${r.round ?? ""}`))]
  return specs.flatMap(([name, from, to, fromFigure = "firstResponseMs", toFigure = fromFigure]) => {
    const values = rounds.flatMap((round) => {
      const [a, b] = [at.get(`${round}.${from}.${fromFigure}`), at.get(`${round}.${to}.${toFigure}`)]
      return a !== undefined && b !== undefined ? [b - a] : []
    })
    if (values.length === 0) return []
    const { median: ms, ...rest } = spread(values)
    return [{ name, from, to, ms, ...rest }]
  })
}

export const headline = (runs: readonly Run[]): Ratio[] =>
  SPECS.flatMap(({ name, workload, figure, num, den, denFigure, goal }) => {
    const values = pairedRatios(runs, workload, figure, num, den, denFigure)
    if (values.length === 0) return []
    const s = spread(values)
    return [goal ? { name, ...s, goal: goal.text, met: goal.ok(s.median) } : { name, ...s }]
  })

const fmt = (v: number): string => {
  const a = Math.abs(v)
  if (a >= 1000) return Math.round(v).toLocaleString("en-US")
  if (a >= 100) return v.toFixed(0)
  if (a >= 10) return v.toFixed(1)
  return v.toFixed(2)
}

const SHOWN: Record<string, string> = {
  msgsPerSec: "msgs/s",
  MiBPerSec: "payload MiB/s",
  p50Us: "p50 µs",
  p90Us: "p90 µs",
  p99Us: "p99 µs",
  p999Us: "p99.9 µs",
  serverCpu: "server CPU (cores)",
  serverCpuUsPerMsg: "server CPU µs/msg",
  msgsPerServerCpuSec: "msgs per server-CPU-s",
  callsPerSec: "calls/s",
  serverCpuUsPerCall: "server CPU µs/call",
  callsPerServerCpuSec: "calls per server-CPU-s",
  pongs: "Ping answered by Pong",
  clientCpu: "client CPU (cores)",
  serverRssMiB: "server RSS MiB",
  openMs: "time to open, ms",
  rssBeforeMiB: "RSS before, MiB",
  rssIdleMiB: "RSS with idle conns, MiB",
  rssPerIdleConnKiB: "RSS per idle conn, KiB",
  rssAfterCloseMiB: "RSS after close, MiB",
  rssAfterMinusBeforeMiB: "RSS after close − before, MiB",
  requestsPerSec: "requests/s",
  serverCpuUsPerRequest: "server CPU µs/request",
  requestsPerServerCpuSec: "requests per server-CPU-s",
  upgradesPerSec: "upgrades/s",
  serverCpuUsPerUpgrade: "server CPU µs/upgrade (one echo each)",
  upgradesPerServerCpuSec: "upgrades per server-CPU-s",
  rssOpenMiB: "RSS with all open, MiB",
  rssPerSocketKiB: "RSS per open socket, KiB",
  closeSeconds: "time to close all, s",
  rssLastOverFirstRound: "RSS after last round / after round 1",
  firstResponseMs: "spawn to first GET /health answer, ms",
  portOpenMs: "spawn to the port accepting, ms",
  firstEchoMs: "spawn to first echo received, ms",
  first426Ms: "spawn to first 426 of a plain GET /echo, ms",
  firstRpcMs: "spawn to first Echo RPC call answered (/rpc, NDJSON), ms",
  failures: "failures",
  uncleanCloses: "unclean closes",
  valid: "valid repetitions"
}

const label = (figure: string): string | undefined => {
  const round = /^rssAfterRound(\d+)MiB$/.exec(figure)?.[1]
  return round === undefined ? SHOWN[figure] : `RSS after round ${round} closed, MiB`
}

interface Result {
  readonly date: string
  readonly durationSeconds: number
  readonly settings: { readonly mode: string; readonly repetitions: number }
  readonly versions: Record<string, string | undefined>
  readonly bundle: Record<string, { raw: number; gzip: number } | boolean>
  readonly targets: Record<string, string>
  readonly ratios: readonly Ratio[]
  readonly summary: readonly Figure[]
  readonly failures?: readonly { rep: number; workload: string; target: string; error: string }[]
  /** Targets or workloads left out, and why. */
  readonly skipped?: readonly string[]
  /** Our bundle by package and module, from esbuild's metafile. */
  readonly bundleReport?: BundleReport
  /** Our Worker's cold start split into phases by the start-up variants. */
  readonly startupBreakdown?: readonly Phase[]
  /** The first `/rpc` call over the first `/health`, the Workers adapter over plain (see `coldStartDifferences`). */
  readonly coldStartDifferences?: readonly Phase[]
  /** The Socket echo's bundle (T7: a Worker that imports only the Workers adapter), from its metafile. */
  readonly socketBundleReport?: BundleReport
  /** The consumer example's bundle (T9: examples/consumer on the package as packed), when built. */
  readonly consumerBundleReport?: BundleReport
  readonly startupProfile?: StartupProfile
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1)

/** Every bundle's size, raw and gzip. */
const bundleLine = (bundle: Result["bundle"]): string => {
  const size = (name: string) => {
    const s = bundle[name]
    return typeof s === "object" ? `${kib(s.raw)} KiB raw, ${kib(s.gzip)} KiB gzip` : "not built"
  }
  const effect = bundle.effect
  const goal = typeof effect === "object" ? (effect.gzip <= 60 * 1024 ? "met" : "missed") : "n/a"
  const reference = bundle.reference === undefined ? "" : `; the reference build (T3-ref) ${size("reference")}`
  return (
    `Bundles: ours (\`npm run build\`; T3, T3h, T6) ${size("effect")} (goal ≤ 60 KiB gzip: ${goal}); ` +
    `plain (T2) ${size("plain")}; Hono (T4) ${size("hono")}; plain Durable Object (T5) ${size("plain-do")}; ` +
    `Socket echo on toFetchHandler (T7) ${size("socket")}; plain NDJSON RPC (T8) ${size("plain-ndjson")}${reference}` +
    (bundle.consumer === undefined ? "." : `; the consumer example (examples/consumer, T9) ${size("consumer")}.`)
  )
}

const REFERENCE_FIGURES = [
  "msgs/s",
  "msgs per server-CPU-s",
  "requests per CPU-s",
  "upgrades per CPU-s",
  "upgrades/s",
  "KiB per socket",
  "time to first response",
  "time to first echo"
]

/** The lines printed last: each ratio is the median of the paired ratios; several comparisons share a line. */
export const headlineLines = (result: Result): string[] => {
  /** `name: R`, or with `of` the ratio named `of name`, shown as `name R`. */
  const value = (name: string, suffix = "", of?: string) => {
    const ratio = result.ratios.find((r) => r.name === (of === undefined ? name : `${of} ${name}`))
    return `${name}${of === undefined ? ":" : ""} ${ratio === undefined ? "n/a" : ratio.median.toFixed(2)}${suffix}`
  }
  const beside = (names: readonly string[], figure: string, suffix = "") =>
    names
      .filter((name, i) => i === 0 || result.ratios.some((r) => r.name === `${name} ${figure}`))
      .map((name, i) => value(`${name} ${figure}`, i === 0 ? suffix : ""))
      .join("   ")
  const compared = ["effect/plain", "hono/plain", "effect-handler/plain", "effect-do/plain-do"]
  const t6 = result.skipped?.find((s) => s.startsWith("T6 skipped"))
  const lines = [
    value("effect/plain msgs/s"),
    value("effect-handler/plain msgs/s"),
    t6 === undefined
      ? `${value("effect-do/plain-do msgs/s")}   ${value("effect-do/plain-do msgs per server-CPU-s")}`
      : `effect-do/plain-do msgs/s: skipped (${t6.replace(/^T6 skipped: /, "")})`,
    beside(compared, "requests per CPU-s"),
    beside(compared, "upgrades per CPU-s"),
    beside(compared, "upgrades/s"),
    beside(compared, "KiB per socket", " (lower is better)"),
    `${value("effect-socket/plain msgs/s")}   ${value("effect-socket/plain msgs per server-CPU-s")}`,
    `${value("rpc/plain-ndjson calls/s")}   ${value("rpc/plain-ndjson calls per server-CPU-s")}`
  ]
  // Side by side (--reference): each pipeline against its own old build, every figure both ran.
  for (const name of [
    "this build/reference build",
    "this build/reference build, handler",
    "this build/reference build, durable object"
  ]) {
    const figures = REFERENCE_FIGURES.filter((figure) => result.ratios.some((r) => r.name === `${name} ${figure}`))
    if (figures.length > 0) lines.push(`${name}: ${figures.map((figure) => value(figure, "", name)).join("   ")}`)
  }
  const gzip = (name: string) => {
    const s = result.bundle[name]
    return typeof s === "object" ? `${kib(s.gzip)}` : "n/a"
  }
  lines.push(
    `bundles, KiB gzip: ours (T3) ${gzip("effect")}, Socket echo on toFetchHandler (T7) ${gzip("socket")}, ` +
      `plain (T2) ${gzip("plain")}, plain NDJSON RPC (T8) ${gzip("plain-ndjson")}` +
      (result.bundle.reference === undefined ? "" : `, reference (T3-ref) ${gzip("reference")}`) +
      (result.bundle.consumer === undefined ? "" : `, consumer example (T9) ${gzip("consumer")}`)
  )
  lines.push(...coldStartLines(result))
  const parts = result.bundleReport
  if (parts !== undefined) lines.push(`${bundleByPackage(parts)}; ${bundleAtLoad(parts)}`)
  const rounds = result.summary.filter((f) => f.figure === "rssLastOverFirstRound")
  if (rounds.length > 0)
    lines.push(
      `RSS after the last round / after round 1 (goal ≤ 1.10): ${rounds.map((f) => `${f.target} ${f.median.toFixed(2)}`).join(", ")}`
    )
  for (const reason of result.skipped ?? []) if (reason !== t6) lines.push(reason)
  return lines
}

/** `time to first response ...` and `time to first echo ...`: the median of each target, its paired ratio to plain. */
const coldStartLines = (result: Result): string[] => {
  const lines: string[] = []
  for (const [words, figure] of COLD_START_FIGURES) {
    const medians = result.summary.filter((f) => f.workload.startsWith(COLD_START) && f.figure === figure)
    if (medians.length === 0) continue
    const cells = medians.map((f) => {
      const ratio = result.ratios.find((r) => r.name === `${COLD_START_PAIRS[f.target]} ${words}`)
      return `${f.target} ${fmt(f.median)}${ratio === undefined ? "" : ` (${ratio.median.toFixed(2)})`}`
    })
    lines.push(`${words}, ms (median; paired ratio to plain T2): ${cells.join(", ")}`)
  }
  const rpc = result.summary.filter((f) => f.workload.startsWith(COLD_START) && f.figure === "firstRpcMs")
  if (rpc.length > 0) {
    const ratios = COLD_START_RPC.flatMap(([name]) => {
      const r = result.ratios.find((x) => x.name === name)
      return r === undefined ? [] : [`${name} ${r.median.toFixed(2)}`]
    })
    lines.push(
      `time to first rpc call, ms (median): ${rpc.map((f) => `${f.target} ${fmt(f.median)}`).join(", ")}` +
        (ratios.length === 0 ? "" : `; paired ratios: ${ratios.join(", ")}`)
    )
  }
  const phases = result.startupBreakdown ?? []
  if (phases.length > 0)
    lines.push(
      `cold start of ours over plain, ms (median of paired differences): ${phases.map((p) => `${p.name} ${fmt(p.ms)}`).join(", ")}`
    )
  const more = result.coldStartDifferences ?? []
  if (more.length > 0)
    lines.push(`cold start, ms (median of paired differences): ${more.map((p) => `${p.name} ${fmt(p.ms)}`).join(", ")}`)
  const socket = result.socketBundleReport
  if (socket !== undefined) lines.push(`Socket echo (T7, only the Workers adapter): ${packagesOf(socket)}`)
  const consumer = result.consumerBundleReport
  if (consumer !== undefined) lines.push(`consumer example (examples/consumer): ${packagesOf(consumer)}`)
  return lines
}

/** A bundle's size, what of it is evaluated at load, and its packages. */
const packagesOf = (parts: BundleReport) =>
  `bundle ${kib(parts.gzip)} KiB gzip (${kib(parts.raw)} raw), ${bundleAtLoad(parts)}; by package: ` +
  parts.byPackage.map((p) => `${p.name} ${kib(p.gzip)}`).join(", ")

const bundleByPackage = (parts: BundleReport) =>
  `bundle by package, KiB gzip (each alone; whole ${kib(parts.gzip)}): ${parts.byPackage.map((p) => `${p.name} ${kib(p.gzip)}`).join(", ")}`

const bundleAtLoad = (parts: BundleReport) =>
  `evaluated at load ${kib(parts.atLoad.gzip)} KiB gzip (${parts.atLoad.modules} modules), ` +
  `on demand ${kib(parts.onDemand.gzip)} (${parts.onDemand.modules})`

/** The cold-start table, the phases, the start-up profile's top entries and the bundle's parts, as markdown. */
export const coldStartMarkdown = (result: Result): string[] => {
  const lines: string[] = []
  const medians = (figure: string) =>
    new Map(
      result.summary.filter((f) => f.workload.startsWith(COLD_START) && f.figure === figure).map((f) => [f.target, f])
    )
  const [response, echo, refusal, rpc] = ["firstResponseMs", "firstEchoMs", "first426Ms", "firstRpcMs"].map(
    medians
  ) as [Map<string, Figure>, Map<string, Figure>, Map<string, Figure>, Map<string, Figure>]
  const coldTargets = [...new Set([...response.keys(), ...echo.keys(), ...refusal.keys(), ...rpc.keys()])]
  if (coldTargets.length > 0) {
    const shown = (r: Ratio | undefined) =>
      r === undefined ? "" : `**${r.median.toFixed(2)}** (${r.min.toFixed(2)}–${r.max.toFixed(2)})`
    const ratio = (target: string, words: string) =>
      shown(result.ratios.find((x) => x.name === `${COLD_START_PAIRS[target]} ${words}`))
    // The first call against plain's first `/health` (the RPC baseline's ratio to its own kind is in the ratios).
    const rpcRatio = (target: string) =>
      shown(
        result.ratios.find((x) =>
          COLD_START_RPC.some(([name, num, , den]) => name === x.name && num === target && den === "T2")
        )
      )
    const cell = (f: Figure | undefined) => (f === undefined ? "" : `${fmt(f.median)} (${fmt(f.min)}–${fmt(f.max)})`)
    lines.push(
      "",
      "**Cold start**: a fresh `workerd serve` per measurement, polled every 2 ms from spawn; medians (min–max) over the " +
        "processes, and the medians of the ratios to plain (T2) paired per round (the first `/rpc` call: to plain's " +
        "first `/health`)",
      "",
      "| target | spawn to first `/health`, ms | ratio to plain | spawn to first echo, ms | ratio to plain | " +
        "spawn to first 426 of `GET /echo`, ms | ratio to plain | spawn to first `/rpc` call, ms | ratio to plain's `/health` | processes |",
      "|---|---|---|---|---|---|---|---|---|---|"
    )
    for (const target of coldTargets) {
      const n = (response.get(target) ?? echo.get(target) ?? refusal.get(target) ?? rpc.get(target))?.n ?? 0
      lines.push(
        `| ${result.targets[target] ?? target} | ${cell(response.get(target))} | ${ratio(target, "time to first response")} | ` +
          `${cell(echo.get(target))} | ${ratio(target, "time to first echo")} | ` +
          `${cell(refusal.get(target))} | ${ratio(target, "time to first 426")} | ` +
          `${cell(rpc.get(target))} | ${rpcRatio(target)} | ${n} |`
      )
    }
  }
  const phases = result.startupBreakdown ?? []
  if (phases.length > 0) {
    lines.push(
      "",
      "**Where our cold start goes** (time to first `/health`; each phase the median of the differences between two " +
        "targets in the same round)",
      "",
      "| phase | targets | ms, median (min–max) |",
      "|---|---|---|"
    )
    for (const p of phases)
      lines.push(`| ${p.name} | ${p.to} − ${p.from} | ${fmt(p.ms)} (${fmt(p.min)}–${fmt(p.max)}) |`)
  }
  const more = result.coldStartDifferences ?? []
  if (more.length > 0) {
    lines.push(
      "",
      "**The first `/rpc` call and the Workers adapter** (each the median of the differences in the same round)",
      "",
      "| difference | targets | ms, median (min–max) |",
      "|---|---|---|"
    )
    for (const p of more) lines.push(`| ${p.name} | ${p.to} − ${p.from} | ${fmt(p.ms)} (${fmt(p.min)}–${fmt(p.max)}) |`)
  }
  const profile = result.startupProfile
  if (profile !== undefined) {
    lines.push(
      "",
      `**Start-up profile** (\`wrangler check startup\`, ${profile.runs} runs of \`${profile.bundle}\`, ` +
        `${profile.samples} samples every ${profile.intervalMs.toFixed(2)} ms; ` +
        `${profile.kept === undefined ? "" : `one run's profile: \`${profile.kept}\`; `}self time per start-up): ` +
        `busy ${fmt(profile.busyMs)} ms`,
      ""
    )
    const table = (title: string, rows: StartupProfile["byKind"]) => {
      lines.push(`| ${title} | ms | % of busy |`, "|---|---|---|")
      for (const r of rows) lines.push(`| ${r.name} | ${fmt(r.ms)} | ${r.percent.toFixed(1)} |`)
      lines.push("")
    }
    table("kind", profile.byKind)
    table("package (the bundle's functions)", profile.byPackage)
    table("module", profile.byModule.slice(0, 10))
    table("function", profile.byFunction.slice(0, 15))
    lines.pop()
  }
  const parts = result.bundleReport
  if (parts !== undefined) {
    lines.push(
      "",
      `**Our bundle** (\`${parts.output}\`, ${kib(parts.raw)} KiB raw, ${kib(parts.gzip)} KiB gzip; ${bundleAtLoad(parts)}; ` +
        "each part's gzip is of its own bytes alone)",
      "",
      "| package | KiB raw | KiB gzip |",
      "|---|---|---|"
    )
    for (const p of parts.byPackage) lines.push(`| ${p.name} | ${kib(p.raw)} | ${kib(p.gzip)} |`)
    lines.push("", "| our module | KiB raw | KiB gzip |", "|---|---|---|")
    for (const p of parts.byModule) lines.push(`| ${p.name} | ${kib(p.raw)} | ${kib(p.gzip)} |`)
  }
  const others: ReadonlyArray<readonly [string, BundleReport | undefined]> = [
    ["The Socket echo's bundle (T7: imports only `websocket-echo/Workers`' module)", result.socketBundleReport],
    ["The consumer example's bundle (T9: examples/consumer on the package as packed)", result.consumerBundleReport]
  ]
  for (const [title, other] of others) {
    if (other === undefined) continue
    lines.push(
      "",
      `**${title}** (\`${other.output}\`, ${kib(other.raw)} KiB raw, ${kib(other.gzip)} KiB gzip; ${bundleAtLoad(other)})`,
      "",
      "| package | KiB raw | KiB gzip |",
      "|---|---|---|"
    )
    for (const p of other.byPackage) lines.push(`| ${p.name} | ${kib(p.raw)} | ${kib(p.gzip)} |`)
  }
  return lines
}

export const markdown = (result: Result): string => {
  const targets = Object.keys(result.targets)
  const lines: string[] = []
  const v = result.versions
  lines.push(
    `Run ${result.date} (${result.settings.mode}, ${result.settings.repetitions} repetitions, ${Math.round(result.durationSeconds)} s): ` +
      `Node ${v.node}, workerd ${v.workerd}, wrangler ${v.wrangler}, ws ${v.ws}, effect ${v.effect}, compatibility date ${v.compatibilityDate}.`,
    "",
    bundleLine(result.bundle),
    "",
    "| ratio (paired per repetition) | median | min | max | goal |",
    "|---|---|---|---|---|"
  )
  for (const r of result.ratios) {
    lines.push(
      `| ${r.name} | **${r.median.toFixed(2)}** | ${r.min.toFixed(2)} | ${r.max.toFixed(2)} | ${r.goal ? `${r.goal} ${r.met ? "met" : "missed"}` : ""} |`
    )
  }
  const workloads = [...new Set(result.summary.map((f) => f.workload))]
  for (const workload of workloads) {
    // Only the targets this workload ran against.
    const columns = targets.filter((t) => result.summary.some((f) => f.workload === workload && f.target === t))
    lines.push(
      "",
      `**${workload}**: median (min–max)`,
      "",
      `| | ${columns.join(" | ")} |`,
      `|---|${columns.map(() => "---").join("|")}|`
    )
    // The counts last, whichever target brought a figure first.
    const last = (f: string) => (f === "failures" || f === "valid" ? 1 : 0)
    const figures = [...new Set(result.summary.filter((f) => f.workload === workload).map((f) => f.figure))]
      .filter((f) => label(f) !== undefined)
      .sort((a, b) => last(a) - last(b))
    for (const figure of figures) {
      const cells = columns.map((t) => {
        const f = result.summary.find((s) => s.workload === workload && s.target === t && s.figure === figure)
        if (!f) return ""
        if (figure === "valid") return `${Math.round(f.sum)}/${f.n}`
        return `${fmt(f.median)} (${fmt(f.min)}–${fmt(f.max)})`
      })
      lines.push(`| ${label(figure)} | ${cells.join(" | ")} |`)
    }
  }
  lines.push(...coldStartMarkdown(result))
  for (const reason of result.skipped ?? []) lines.push("", reason)
  for (const f of result.failures ?? []) {
    lines.push("", `Failed and restarted: repetition ${f.rep + 1}, ${f.workload}, ${f.target}: ${f.error}`)
  }
  return `${lines.join("\n")}\n`
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;")

/** Two panels of horizontal bars: every target relative to the plain Worker, and against the TCP ceiling. */
export const svg = (result: Result & { runs: readonly Run[] }): string => {
  const runs = result.runs
  const shown = ["T1", "T2", "T3", "T3h", "T4", "T5", "T6", "T7", "T2-dev", "T3-dev"].filter((t) => t in result.targets)
  const ratio = (workload: string, figure: string, num: string, den: string) => {
    const values = pairedRatios(runs, workload, figure, num, den)
    return values.length ? median(values) : 0
  }
  const panels = [
    {
      title: "Relative to the plain Worker on workerd serve (= 1.00), 100 connections",
      reference: 1,
      series: [
        { label: "msgs/s", color: "#3b6fb6", value: (t: string) => ratio(CLOSED_100, "msgsPerSec", t, "T2") },
        {
          label: "msgs per server-CPU-second",
          color: "#e08a2c",
          value: (t: string) => ratio(CLOSED_100, "msgsPerServerCpuSec", t, "T2")
        }
      ],
      format: (v: number) => v.toFixed(2)
    },
    {
      title: "Against the raw TCP echo ceiling (T0 = 100%)",
      reference: 1,
      series: [
        {
          label: "msgs/s, 100 connections",
          color: "#3b6fb6",
          value: (t: string) => ratio(CLOSED_100, "msgsPerSec", t, "T0")
        },
        {
          label: "round trips/s, 1 connection",
          color: "#5aa469",
          value: (t: string) => ratio(PING_PONG, "msgsPerSec", t, "T0")
        }
      ],
      format: (v: number) => `${(v * 100).toFixed(0)}%`
    }
  ]
  const width = 760
  const labelWidth = 230
  const barHeight = 14
  const plotWidth = width - labelWidth - 70
  let y = 40
  const parts: string[] = []
  parts.push(
    `<text x="12" y="24" font-size="15" font-weight="bold">WebSocket echo, 20 B messages: ${esc(result.date.slice(0, 16))} UTC, medians of ${result.settings.repetitions} interleaved runs</text>`
  )
  for (const panel of panels) {
    y += 14
    parts.push(`<text x="12" y="${y}" font-size="13" font-weight="bold">${esc(panel.title)}</text>`)
    y += 8
    let lx = labelWidth
    for (const s of panel.series) {
      parts.push(`<rect x="${lx}" y="${y}" width="10" height="10" fill="${s.color}"/>`)
      parts.push(`<text x="${lx + 14}" y="${y + 9}" font-size="11">${esc(s.label)}</text>`)
      lx += 20 + s.label.length * 6.2
    }
    y += 18
    const values = shown.flatMap((t) => panel.series.map((s) => s.value(t)))
    const max = Math.max(panel.reference * 1.1, ...values) * 1.05
    const x = (v: number) => labelWidth + (v / max) * plotWidth
    const top = y
    for (const t of shown) {
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + barHeight * panel.series.length * 0.5 + 6}" font-size="12" text-anchor="end">${esc(result.targets[t] ?? t)}</text>`
      )
      for (const s of panel.series) {
        const v = s.value(t)
        parts.push(
          `<rect x="${labelWidth}" y="${y}" width="${Math.max(0, x(v) - labelWidth).toFixed(1)}" height="${barHeight - 2}" fill="${s.color}"/>`
        )
        parts.push(
          `<text x="${(x(v) + 4).toFixed(1)}" y="${y + barHeight - 4}" font-size="11">${esc(panel.format(v))}</text>`
        )
        y += barHeight
      }
      y += 8
    }
    const rx = x(panel.reference).toFixed(1)
    parts.push(`<line x1="${rx}" y1="${top - 4}" x2="${rx}" y2="${y - 4}" stroke="#333" stroke-dasharray="4 3"/>`)
    y += 12
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${parts.join("\n")}
</svg>
`
}
