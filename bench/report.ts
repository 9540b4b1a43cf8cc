// Turns the runs into medians, paired ratios, a markdown table and an SVG chart.

/** One target in one workload in one repetition. */
export interface Run {
  readonly rep: number
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
  return [...groups.values()].map(({ values, ...rest }) => ({ ...rest, ...spread(values) }))
}

const PING_PONG = "1 conn ping-pong"
const CLOSED_100 = "100 conns closed loop"
const RAMP = "ramp to"

/** Each ratio is taken within one repetition (the two targets ran back to back), then the median is taken. */
const SPECS: ReadonlyArray<{
  name: string
  workload: string
  figure: string
  num: string
  den: string
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
  }
]

const pairedRatios = (runs: readonly Run[], workload: string, figure: string, num: string, den: string): number[] => {
  const find = (rep: number, target: string) =>
    runs.find((r) => r.rep === rep && r.target === target && r.workload.startsWith(workload))?.figures[figure]
  const reps = [...new Set(runs.map((r) => r.rep))]
  return reps.flatMap((rep) => {
    const a = find(rep, num)
    const b = find(rep, den)
    return a !== undefined && b !== undefined && b !== 0 ? [a / b] : []
  })
}

export const headline = (runs: readonly Run[]): Ratio[] =>
  SPECS.flatMap(({ name, workload, figure, num, den, goal }) => {
    const values = pairedRatios(runs, workload, figure, num, den)
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
  clientCpu: "client CPU (cores)",
  serverRssMiB: "server RSS MiB",
  openMs: "time to open, ms",
  rssBeforeMiB: "RSS before, MiB",
  rssIdleMiB: "RSS with idle conns, MiB",
  rssPerIdleConnKiB: "RSS per idle conn, KiB",
  rssAfterCloseMiB: "RSS after close, MiB",
  rssAfterMinusBeforeMiB: "RSS after close − before, MiB",
  valid: "valid repetitions"
}

interface Result {
  readonly date: string
  readonly durationSeconds: number
  readonly settings: { readonly mode: string; readonly repetitions: number }
  readonly versions: Record<string, string | undefined>
  readonly bundle: { effect: { raw: number; gzip: number }; plain: { raw: number; gzip: number } }
  readonly targets: Record<string, string>
  readonly ratios: readonly Ratio[]
  readonly summary: readonly Figure[]
  readonly failures?: readonly { rep: number; workload: string; target: string; error: string }[]
}

export const markdown = (result: Result): string => {
  const targets = Object.keys(result.targets)
  const lines: string[] = []
  const v = result.versions
  lines.push(
    `Run ${result.date} (${result.settings.mode}, ${result.settings.repetitions} repetitions, ${Math.round(result.durationSeconds)} s): ` +
      `Node ${v.node}, workerd ${v.workerd}, wrangler ${v.wrangler}, ws ${v.ws}, effect ${v.effect}, compatibility date ${v.compatibilityDate}.`,
    "",
    `Bundle (\`npm run build\`): ${(result.bundle.effect.raw / 1024).toFixed(1)} KiB raw, ${(result.bundle.effect.gzip / 1024).toFixed(1)} KiB gzip ` +
      `(plain Worker: ${(result.bundle.plain.raw / 1024).toFixed(1)} KiB, ${(result.bundle.plain.gzip / 1024).toFixed(1)} KiB gzip; goal ≤ 60 KiB gzip: ${result.bundle.effect.gzip <= 60 * 1024 ? "met" : "missed"}).`,
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
    lines.push(
      "",
      `**${workload}**: median (min–max)`,
      "",
      `| | ${targets.join(" | ")} |`,
      `|---|${targets.map(() => "---").join("|")}|`
    )
    const figures = [...new Set(result.summary.filter((f) => f.workload === workload).map((f) => f.figure))].filter(
      (f) => f in SHOWN
    )
    for (const figure of figures) {
      const cells = targets.map((t) => {
        const f = result.summary.find((s) => s.workload === workload && s.target === t && s.figure === figure)
        if (!f) return ""
        if (figure === "valid") return `${f.median * f.n === 0 ? 0 : Math.round(f.n * f.median)}/${f.n}`
        return `${fmt(f.median)} (${fmt(f.min)}–${fmt(f.max)})`
      })
      lines.push(`| ${SHOWN[figure]} | ${cells.join(" | ")} |`)
    }
  }
  for (const f of result.failures ?? []) {
    lines.push("", `Failed and restarted: repetition ${f.rep + 1}, ${f.workload}, ${f.target}: ${f.error}`)
  }
  return `${lines.join("\n")}\n`
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;")

/** Two panels of horizontal bars: every target relative to the plain Worker, and against the TCP ceiling. */
export const svg = (result: Result & { runs: readonly Run[] }): string => {
  const runs = result.runs
  const shown = ["T1", "T2", "T3", "T2-dev", "T3-dev"].filter((t) => t in result.targets)
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
