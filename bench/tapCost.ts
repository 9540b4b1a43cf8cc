/**
 * What a tapped socket costs per message, side by side with untapped ones, in each shape: the same bundle on raw
 * `workerd serve` (wrangler.toml's bindings, the taps included), 20 connections in a closed loop at depth 1, first
 * untapped (`/echo`), then each on a tap of its own (`/echo?tap=NAME`, no watcher), alternating, 3 repetitions.
 * Run: `npx esbuild bench/tapCost.ts --bundle --platform=node --format=esm --packages=external
 * --outfile=bench/.build/tapCost.mjs && node bench/.build/tapCost.mjs [out.json]`. Writes the JSON and prints a table.
 */
import { writeFileSync } from "node:fs"
import { startWorkerdServe } from "../test/soak/workerdServe.js"
import { Connection, closedLoop, exchange, Meter, openMany, TEXT } from "./client.js"
import { cpuSeconds, sessionProcesses } from "./proc.js"

const MODES: Record<string, Record<string, string>> = {
  stream: {},
  handler: { ECHO_PIPELINE: "handler" },
  "durable-object": { ECHO_BACKEND: "durable-object" }
}
const CONNECTIONS = 20
const REPETITIONS = 3
const WARMUP_MS = 1_000
const MEASURE_MS = 4_000

interface Sample {
  readonly mode: string
  readonly tapped: boolean
  readonly repetition: number
  readonly msgsPerSecond: number
  readonly cpuMicrosPerMessage: number
}

const measure = async (
  port: number,
  pids: ReadonlyArray<number>,
  tapped: boolean,
  run: string
): Promise<Omit<Sample, "mode" | "repetition">> => {
  const meter = new Meter()
  const payload = Buffer.from("hello, tap")
  let i = 0
  const connections = await openMany(CONNECTIONS, 10, () =>
    Connection.open(
      port,
      { ...exchange(TEXT, payload, "echo: "), path: tapped ? `/echo?tap=bench-${run}-${i++}` : "/echo" },
      meter,
      false
    )
  )
  let cpu = 0
  const window = await closedLoop(connections, meter, {
    depth: 1,
    warmupMs: WARMUP_MS,
    measureMs: MEASURE_MS,
    probe: (edge) => {
      cpu = edge === "start" ? cpuSeconds(pids) : cpuSeconds(pids) - cpu
    }
  })
  await Promise.all(connections.map((connection) => connection.close()))
  if (window.mismatches > 0 || window.lost > 0) throw new Error(`${window.mismatches} mismatches, ${window.lost} lost`)
  return {
    tapped,
    msgsPerSecond: window.received / window.seconds,
    cpuMicrosPerMessage: (cpu * 1e6) / window.received
  }
}

const median = (values: ReadonlyArray<number>) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

const main = async () => {
  const samples: Array<Sample> = []
  for (const [mode, overrides] of Object.entries(MODES)) {
    // On disk: only that storage is SQLite-backed, which a tap needs.
    const server = await startWorkerdServe(overrides, "disk")
    try {
      for (let repetition = 0; repetition < REPETITIONS; repetition++) {
        for (const tapped of repetition % 2 === 0 ? [false, true] : [true, false]) {
          const sample = await measure(
            server.port,
            sessionProcesses(server.pid, "workerd"),
            tapped,
            `${mode}-${repetition}`
          )
          samples.push({ mode, repetition, ...sample })
          console.log(
            mode,
            repetition,
            tapped ? "tapped" : "untapped",
            sample.msgsPerSecond.toFixed(0),
            "msgs/s",
            sample.cpuMicrosPerMessage.toFixed(1),
            "µs CPU/msg"
          )
        }
      }
    } finally {
      await server.stop()
    }
  }
  const rows = Object.keys(MODES).map((mode) => {
    const of = (tapped: boolean) => samples.filter((s) => s.mode === mode && s.tapped === tapped)
    const ratios = (field: "msgsPerSecond" | "cpuMicrosPerMessage") =>
      median(
        Array.from({ length: REPETITIONS }, (_, r) => {
          const t = of(true).find((s) => s.repetition === r) as Sample
          const u = of(false).find((s) => s.repetition === r) as Sample
          return t[field] / u[field]
        })
      )
    return {
      mode,
      untappedMsgsPerSecond: median(of(false).map((s) => s.msgsPerSecond)),
      tappedMsgsPerSecond: median(of(true).map((s) => s.msgsPerSecond)),
      msgsPerSecondRatio: ratios("msgsPerSecond"),
      untappedCpuMicrosPerMessage: median(of(false).map((s) => s.cpuMicrosPerMessage)),
      tappedCpuMicrosPerMessage: median(of(true).map((s) => s.cpuMicrosPerMessage)),
      cpuPerMessageRatio: ratios("cpuMicrosPerMessage")
    }
  })
  console.table(rows)
  const out = process.argv[2] ?? "bench/results/side-by-side/20a-tap-cost.json"
  writeFileSync(
    out,
    `${JSON.stringify({ at: new Date().toISOString(), connections: CONNECTIONS, repetitions: REPETITIONS, measureMs: MEASURE_MS, rows, samples }, null, 2)}\n`
  )
}

await main()
