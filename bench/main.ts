// `npm run bench`: starts every target, runs every workload against each in rotating order, writes the results.
import { mkdirSync, writeFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import {
  BINARY,
  Connection,
  closedLoop,
  exchange,
  Meter,
  openLoop,
  openMany,
  sleep,
  TEXT,
  type Window
} from "./client.js"
import { cpuSeconds, rssBytes } from "./proc.js"
import { profileWorker } from "./profile.js"
import { type Figure, headline, markdown, type Run, summarize, svg } from "./report.js"
import { buildWorkers, LABELS, root, startTarget, type Target, type TargetId, versions } from "./targets.js"

const args = process.argv.slice(2)
const flag = (name: string) => args.includes(`--${name}`)
const option = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const quick = flag("quick")
const smoke = flag("smoke")
/** Runs only these workloads (pingPong, closed100, rampAndOpenLoop, payloads). */
const only = option("workloads")?.split(",")

const settings = {
  mode: smoke ? "smoke" : quick ? "quick" : "full",
  repetitions: Number(option("repetitions") ?? (smoke ? 1 : 3)),
  targets: (option("targets")?.split(",") ??
    (smoke ? ["T3"] : ["T0", "T1", "T2", "T3", "T2-dev", "T3-dev"])) as TargetId[],
  pingPong: { warmupMs: quick ? 100 : 300, measureMs: smoke ? 300 : quick ? 250 : 1200 },
  closed100: { connections: 100, depth: 1, warmupMs: quick ? 100 : 300, measureMs: smoke ? 300 : quick ? 300 : 1500 },
  ramp: { connections: smoke ? 50 : quick ? 300 : 1000, parallel: 50, settleMs: quick || smoke ? 150 : 500 },
  openLoop: {
    rates: (option("rates") ?? "1000,4000").split(",").map(Number),
    warmupMs: quick ? 100 : 250,
    measureMs: smoke ? 300 : quick ? 250 : 1000
  },
  payloads: { connections: 10, depth: 1, warmupMs: quick ? 50 : 150, measureMs: smoke ? 200 : quick ? 150 : 400 }
}

const TEXT_20 = Buffer.from("0123456789abcdefghij")
const UTF8_TEXT = Buffer.from("Grüße aus Köln, 東京からこんにちは, ¡hola! 🙂🚀 ".repeat(4))
const payloads = [
  { name: "20 B binary", opcode: BINARY, payload: Buffer.alloc(20, 0xa5) },
  {
    name: "1 KiB binary",
    opcode: BINARY,
    payload: Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 31) & 0xff))
  },
  {
    name: "64 KiB binary",
    opcode: BINARY,
    payload: Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7 + (i >> 8)) & 0xff))
  },
  { name: `${UTF8_TEXT.length} B UTF-8 text`, opcode: TEXT, payload: UTF8_TEXT }
]

const PREFIX = "echo: "
const CLIENT_LIMIT = 0.8

/** Measures one window of load on a target: client CPU, server CPU and RSS at the window's edges. */
const measure = async (
  target: Target,
  run: (meter: Meter, probe: (edge: "start" | "end") => void) => Promise<Window>,
  meter: Meter
): Promise<Record<string, number> & { valid: number }> => {
  const processes = target.processes()
  let client = process.cpuUsage()
  let server = 0
  let wall = 0
  const probe = (edge: "start" | "end") => {
    if (edge === "start") {
      client = process.cpuUsage()
      server = cpuSeconds(processes)
      wall = performance.now()
      return
    }
    const used = process.cpuUsage(client)
    const seconds = (performance.now() - wall) / 1000
    client = { user: (used.user + used.system) / 1e6 / seconds, system: 0 }
    server = cpuSeconds(processes) - server
    wall = seconds
  }
  const window = await run(meter, probe)
  const clientCpu = client.user
  const serverCpu = server / wall
  const percentile = (p: number) => window.latency.getValueAtPercentile(p)
  const invalid = clientCpu > CLIENT_LIMIT || window.mismatches > 0 || window.lost > 0
  return {
    msgsPerSec: window.received / window.seconds,
    p50Us: percentile(50),
    p90Us: percentile(90),
    p99Us: percentile(99),
    p999Us: percentile(99.9),
    clientCpu,
    serverCpu,
    serverCpuUsPerMsg: (server * 1e6) / Math.max(1, window.received),
    msgsPerServerCpuSec: server > 0 ? window.received / server : 0,
    serverRssMiB: rssBytes(processes) / 2 ** 20,
    mismatches: window.mismatches,
    lost: window.lost,
    valid: invalid ? 0 : 1
  }
}

const connectAll = async (target: Target, count: number, ex: ReturnType<typeof exchange>, meter: Meter) =>
  openMany(count, settings.ramp.parallel, () => Connection.open(target.port, ex, meter, target.raw))

const closeAll = async (connections: readonly Connection[]) => {
  const results = await Promise.all(connections.map((c) => c.close()))
  return results.filter((clean) => !clean).length
}

/** The median of a few RSS readings: a single one catches the heap mid-collection. */
const steadyRss = async (target: Target): Promise<number> => {
  const samples: number[] = []
  for (let i = 0; i < 5; i++) {
    samples.push(rssBytes(target.processes()))
    await sleep(quick ? 20 : 50)
  }
  return samples.sort((a, b) => a - b)[2] as number
}

const prefixFor = (target: Target) => (target.raw ? undefined : PREFIX)

const workloads: Record<string, (target: Target) => Promise<Record<string, Record<string, number>>>> = {
  async pingPong(target) {
    const meter = new Meter()
    const [connection] = await connectAll(target, 1, exchange(TEXT, TEXT_20, prefixFor(target)), meter)
    const figures = await measure(
      target,
      (m, probe) => closedLoop([connection as Connection], m, { depth: 1, ...settings.pingPong, probe }),
      meter
    )
    await closeAll([connection as Connection])
    return { "1 conn ping-pong, 20 B text": figures }
  },
  async closed100(target) {
    const meter = new Meter()
    const { connections: count, depth, warmupMs, measureMs } = settings.closed100
    const connections = await connectAll(target, count, exchange(TEXT, TEXT_20, prefixFor(target)), meter)
    const figures = await measure(
      target,
      (m, probe) => closedLoop(connections, m, { depth, warmupMs, measureMs, probe }),
      meter
    )
    await closeAll(connections)
    return { [`${count} conns closed loop, depth ${depth}, 20 B text`]: figures }
  },
  async rampAndOpenLoop(target) {
    const { connections: count, settleMs } = settings.ramp
    const out: Record<string, Record<string, number>> = {}
    const ex = exchange(TEXT, TEXT_20, prefixFor(target))
    let meter = new Meter()
    const rssBefore = await steadyRss(target)
    const started = performance.now()
    const connections = await connectAll(target, count, ex, meter)
    const openMs = performance.now() - started
    await sleep(settleMs)
    const rssIdle = await steadyRss(target)
    for (const rate of settings.openLoop.rates) {
      meter = new Meter()
      for (const connection of connections) connection.retarget(meter)
      const { warmupMs, measureMs } = settings.openLoop
      out[`${count} conns open loop at ${rate} msg/s, 20 B text`] = await measure(
        target,
        (m, probe) => openLoop(connections, m, { rate, warmupMs, measureMs, probe }),
        meter
      )
    }
    const unclean = await closeAll(connections)
    await sleep(settleMs)
    const rssAfter = await steadyRss(target)
    out[`ramp to ${count} idle conns`] = {
      openMs,
      rssBeforeMiB: rssBefore / 2 ** 20,
      rssIdleMiB: rssIdle / 2 ** 20,
      rssPerIdleConnKiB: (rssIdle - rssBefore) / 1024 / count,
      rssAfterCloseMiB: rssAfter / 2 ** 20,
      rssAfterMinusBeforeMiB: (rssAfter - rssBefore) / 2 ** 20,
      uncleanCloses: unclean,
      valid: unclean === 0 ? 1 : 0
    }
    return out
  },
  async payloads(target) {
    const out: Record<string, Record<string, number>> = {}
    const { connections: count, depth, warmupMs, measureMs } = settings.payloads
    for (const { name, opcode, payload } of payloads) {
      const meter = new Meter()
      const connections = await connectAll(target, count, exchange(opcode, payload, prefixFor(target)), meter)
      const figures = await measure(
        target,
        (m, probe) => closedLoop(connections, m, { depth, warmupMs, measureMs, probe }),
        meter
      )
      await closeAll(connections)
      out[`${count} conns closed loop, ${name}`] = {
        ...figures,
        MiBPerSec: (figures.msgsPerSec * payload.length) / 2 ** 20
      }
    }
    return out
  }
}

const main = async () => {
  if (flag("profile")) {
    const seconds = Number(option("profile") ?? 5)
    return profileWorker(Number.isFinite(seconds) ? seconds : 5)
  }
  const began = Date.now()
  console.error(`building the Workers...`)
  const bundle = buildWorkers(option("subject"))
  const toolchain = versions()
  const targets: Target[] = []
  const stopAll = () => Promise.all(targets.map((t) => t.stop()))
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)))
  const runs: Run[] = []
  const failures: { rep: number; workload: string; target: TargetId; error: string }[] = []
  try {
    console.error(`starting ${settings.targets.map((id) => LABELS[id]).join(", ")}...`)
    const started = await Promise.allSettled(settings.targets.map((id) => startTarget(id, option("reference"))))
    for (const result of started) if (result.status === "fulfilled") targets.push(result.value)
    const failed = started.find((result) => result.status === "rejected")
    if (failed) throw failed.reason
    for (let rep = 0; rep < settings.repetitions; rep++) {
      for (const [workload, run] of Object.entries(workloads)) {
        if (smoke && workload === "payloads") continue
        if (only !== undefined && !only.includes(workload)) continue
        for (let k = 0; k < targets.length; k++) {
          const index = (k + rep) % targets.length
          const target = targets[index] as Target
          try {
            const figures = await run(target)
            for (const [name, values] of Object.entries(figures))
              runs.push({ rep, workload: name, target: target.id, figures: values })
            console.error(`rep ${rep + 1} ${workload} ${target.id} ${Math.round((Date.now() - began) / 1000)} s`)
          } catch (error) {
            // A shared machine: another user's cleanup may kill a server. Record it, restart it, go on.
            const message = error instanceof Error ? error.message : String(error)
            failures.push({ rep, workload, target: target.id, error: message })
            console.error(`rep ${rep + 1} ${workload} ${target.id} failed: ${message}; restarting it`)
            await target.stop()
            targets[index] = await startTarget(target.id, option("reference"))
          }
        }
      }
    }
  } finally {
    await stopAll()
  }
  const summary: Figure[] = summarize(runs)
  const ratios = headline(runs)
  const result = {
    date: new Date().toISOString(),
    durationSeconds: (Date.now() - began) / 1000,
    settings,
    machine: { cpus: (await import("node:os")).cpus().length, loadAverage: (await import("node:os")).loadavg() },
    versions: toolchain,
    bundle,
    targets: Object.fromEntries(settings.targets.map((id) => [id, LABELS[id]])),
    ratios,
    summary,
    failures,
    runs
  }
  const mismatches = runs.reduce((n, r) => n + (r.figures.mismatches ?? 0), 0)
  if (smoke) {
    const received = runs.reduce((n, r) => n + (r.figures.msgsPerSec ?? 0), 0)
    console.log(`smoke: ${runs.length} windows, ${mismatches} mismatches`)
    if (mismatches > 0 || received === 0 || runs.some((r) => r.figures.valid === 0)) process.exit(1)
    return
  }
  if (option("out") !== undefined) {
    writeFileSync(option("out") as string, `${JSON.stringify(result, null, 2)}\n`)
    console.log(markdown(result))
    return
  }
  const stamp = result.date.replace(/:/g, "-").replace(/\.\d+Z$/, "Z")
  mkdirSync(`${root}bench/results`, { recursive: true })
  writeFileSync(`${root}bench/results/${stamp}.json`, `${JSON.stringify(result, null, 2)}\n`)
  const table = markdown(result)
  writeFileSync(`${root}bench/results/latest.md`, table)
  writeFileSync(`${root}bench/results/latest.svg`, svg(result))
  console.log(table)
  const main = ratios.find((r) => r.name === "effect/plain msgs/s")
  console.log(`effect/plain msgs/s: ${main ? main.median.toFixed(2) : "n/a"}`)
  console.error(`wrote bench/results/${stamp}.json, bench/results/latest.md, bench/results/latest.svg`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
