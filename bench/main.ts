// `npm run bench`: starts every target, runs every workload against each in rotating order, writes the results.
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import { openFilesLimit } from "../test/support/workerdServe.js"
import { stopAllServers } from "../test/support/wranglerDev.js"
import { bundleReport } from "./bundleReport.js"
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
import { COLD_START, coldStart, POLL_MS } from "./coldStart.js"
import { HEAP_TARGETS, heapAfterClose } from "./heap.js"
import { type Expected, keepAliveClients, type RequestWindow } from "./http.js"
import { cpuSeconds, rssBytes } from "./proc.js"
import {
  PROFILE_TARGETS,
  PROFILE_WORKLOADS,
  type ProfileTarget,
  type ProfileWorkload,
  profileWorker
} from "./profile.js"
import {
  coldStartDifferences,
  type Figure,
  headline,
  headlineLines,
  markdown,
  RPC_CALLS,
  type Run,
  startupBreakdown,
  summarize,
  svg
} from "./report.js"
import { echoCalls, ping } from "./rpc.js"
import { startupProfile } from "./startupProfile.js"
import {
  buildWorkers,
  CONSUMER_DIR,
  CONSUMER_METAFILE,
  EFFECT_METAFILE,
  isStartupVariant,
  isWorkerd,
  LABELS,
  root,
  SOCKET_METAFILE,
  startTarget,
  T6_SKIPPED,
  type Target,
  type TargetId,
  versions,
  WORKERD_FD_LIMIT
} from "./targets.js"
import { closeBatches, openAndEcho, openBatches, withTimeout } from "./upgrades.js"

const args = process.argv.slice(2)
const flag = (name: string) => args.includes(`--${name}`)
const option = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const quick = flag("quick")
const smoke = flag("smoke")
/**
 * Runs only these workloads (pingPong, closed100, rampAndOpenLoop, payloads, requests, upgrades, rpc, coldStart,
 * startupProfile); `firstResponse`, coldStart's old name, is coldStart.
 */
const only = option("workloads")
  ?.split(",")
  .map((name) => (name === "firstResponse" ? "coldStart" : name))
const wants = (workload: string) =>
  (only === undefined || only.includes(workload)) && !(smoke && workload === "payloads")
const DEFAULT_TARGETS: TargetId[] = [
  ...["T0", "T1", "T2", "T3", "T3h", "T4", "T5", "T6", "T7", "T8", "T9", "T2-dev", "T3-dev"],
  ...["T3-load", "T3-built"]
] as TargetId[]
/**
 * Smoke: our Worker, the Socket echo on toFetchHandler, the NDJSON baseline that our `/rpc` is checked against, and
 * the consumer example (its cold start's answers checked).
 */
const SMOKE_TARGETS: TargetId[] = ["T3", "T7", "T8", "T9"]

const settings = {
  mode: smoke ? "smoke" : quick ? "quick" : "full",
  repetitions: Number(option("repetitions") ?? (smoke ? 1 : 3)),
  targets: (option("targets")?.split(",") ?? (smoke ? SMOKE_TARGETS : DEFAULT_TARGETS)) as TargetId[],
  pingPong: { warmupMs: quick ? 100 : 300, measureMs: smoke ? 300 : quick ? 250 : 1200 },
  closed100: { connections: 100, depth: 1, warmupMs: quick ? 100 : 300, measureMs: smoke ? 300 : quick ? 300 : 1500 },
  ramp: { connections: smoke ? 50 : quick ? 300 : 1000, parallel: 50, settleMs: quick || smoke ? 150 : 500 },
  openLoop: {
    rates: (option("rates") ?? "1000,4000").split(",").map(Number),
    warmupMs: quick ? 100 : 250,
    measureMs: smoke ? 300 : quick ? 250 : 1000
  },
  payloads: { connections: 10, depth: 1, warmupMs: quick ? 50 : 150, measureMs: smoke ? 200 : quick ? 150 : 400 },
  /** Keep-alive GETs: `perRoute` to `GET /echo` without Upgrade (426), as many to `GET /health`. */
  requests: { connections: 50, warmup: smoke ? 200 : 1000, perRoute: smoke ? 200 : quick ? 4000 : 10_000 },
  /** Sockets opened in batches, one echo each, held, closed; `rounds` times on one fresh server. */
  upgrades: {
    sockets: Number(option("sockets") ?? (smoke ? 200 : quick ? 2000 : 10_000)),
    batch: 500,
    rounds: Number(option("rounds") ?? 1),
    warmup: 100,
    settleMs: smoke || quick ? 300 : 1000
  },
  /**
   * Fresh workerd processes per target and repetition, for each of its cold-start figures (targets alternate);
   * each polled every `pollMs` from spawn on.
   */
  coldStart: { processes: Number(option("cold-starts") ?? (smoke ? 1 : quick ? 2 : 5)), pollMs: POLL_MS },
  /** `wrangler check startup` runs whose samples are added up (once per run, not per repetition). */
  startupProfile: { runs: Number(option("startup-profiles") ?? (smoke ? 1 : quick ? 3 : 10)) }
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
/**
 * A window in which the client used more than this much of a core measured the client. Not in a smoke run, which
 * checks answers, not speed: its windows of 200 requests last ≈ 15 ms, too short for a CPU reading.
 */
const CLIENT_LIMIT = smoke ? Number.POSITIVE_INFINITY : 0.8

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
  if (meter.firstMismatch !== undefined)
    console.error(`${target.id}: ${window.mismatches} mismatched, first: ${JSON.stringify(meter.firstMismatch)}`)
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
const steadyRss = async (target: Target, readings = 5): Promise<number> => {
  const samples: number[] = []
  for (let i = 0; i < readings; i++) {
    samples.push(rssBytes(target.processes()))
    await sleep(quick ? 20 : 50)
  }
  return samples.sort((a, b) => a - b)[readings >> 1] as number
}

const prefixFor = (target: Target) => (target.raw ? undefined : PREFIX)

const NOT_WEBSOCKET: Expected = {
  path: "/echo",
  status: 426,
  contentType: "application/json",
  body: '{"error":"Expected WebSocket upgrade request (Upgrade: websocket)","code":"NOT_WEBSOCKET"}'
}
const HEALTH: Expected = { path: "/health", status: 200, contentType: "application/json", body: '{"status":"ok"}' }

/** Runs one request window on a target and reads client and server CPU at its edges. */
const measureRequests = async (target: Target, window: () => Promise<RequestWindow>) => {
  const processes = target.processes()
  const client = process.cpuUsage()
  const server = cpuSeconds(processes)
  const result = await window()
  const used = process.cpuUsage(client)
  const serverSeconds = cpuSeconds(processes) - server
  const clientCpu = (used.user + used.system) / 1e6 / result.seconds
  if (result.firstFailure !== undefined)
    console.error(`${target.id}: ${result.failures} failed, first: ${result.firstFailure}`)
  return {
    requestsPerSec: result.ok / result.seconds,
    p50Us: result.latency.getValueAtPercentile(50),
    p99Us: result.latency.getValueAtPercentile(99),
    clientCpu,
    serverCpu: serverSeconds / result.seconds,
    serverCpuUsPerRequest: (serverSeconds * 1e6) / Math.max(1, result.ok),
    requestsPerServerCpuSec: serverSeconds > 0 ? result.ok / serverSeconds : 0,
    failures: result.failures,
    valid: result.failures === 0 && clientCpu <= CLIENT_LIMIT ? 1 : 0,
    // Not shown: what the combined figures are made of.
    requests: result.ok,
    seconds: result.seconds,
    serverSeconds
  }
}

/** Workloads skipped for a reason that holds for the whole run (printed at the end). */
const skipped = new Set<string>()

/** File descriptors the upgrade workload needs in the client and in workerd: the sockets and a margin. */
const fdNeeded = () => settings.upgrades.sockets + 1000

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
  },
  async requests(target) {
    const { connections, warmup, perRoute } = settings.requests
    const clients = keepAliveClients(target.port, connections)
    try {
      const bounded = (step: string, window: () => Promise<RequestWindow>) =>
        withTimeout(window(), 120_000, `${target.id} ${step}`, clients.close)
      await bounded("request warm-up", () => clients.run(NOT_WEBSOCKET, warmup))
      await bounded("request warm-up", () => clients.run(HEALTH, warmup))
      const a = await measureRequests(target, () => bounded("426 requests", () => clients.run(NOT_WEBSOCKET, perRoute)))
      const b = await measureRequests(target, () => bounded("/health requests", () => clients.run(HEALTH, perRoute)))
      const requests = a.requests + b.requests
      const seconds = a.seconds + b.seconds
      const serverSeconds = a.serverSeconds + b.serverSeconds
      const name = `HTTP GETs, ${connections} keep-alive conns`
      return {
        [`${name}: 426`]: a,
        [`${name}: /health`]: b,
        [`${name}: both`]: {
          requestsPerSec: requests / seconds,
          serverCpu: serverSeconds / seconds,
          serverCpuUsPerRequest: (serverSeconds * 1e6) / Math.max(1, requests),
          requestsPerServerCpuSec: serverSeconds > 0 ? requests / serverSeconds : 0,
          failures: a.failures + b.failures,
          valid: a.valid * b.valid
        }
      }
    } finally {
      clients.close()
    }
  },
  async upgrades(target) {
    const { sockets, batch, rounds, warmup, settleMs } = settings.upgrades
    const need = fdNeeded()
    const own = openFilesLimit(process.pid) ?? 0
    if (own < need) {
      skipped.add(
        `upgrades skipped: the client may open ${own} files, ${sockets} sockets need ${need} (raise ulimit -n)`
      )
      return {}
    }
    // A fresh server of the target: its memory starts from the same place for every target and repetition.
    const fresh = await startTarget(target.id, { reference: option("reference") })
    const opened: Connection[] = []
    try {
      const pid = fresh.processes()[0]
      const limit = pid === undefined ? undefined : openFilesLimit(pid)
      if (limit === undefined || limit < need) {
        skipped.add(`upgrades skipped: workerd may open ${limit ?? "?"} files, ${sockets} sockets need ${need}`)
        return {}
      }
      const ex = exchange(TEXT, TEXT_20, PREFIX)
      const step = <A>(name: string, promise: Promise<A>) =>
        withTimeout(promise, 300_000, `${target.id} ${name}`, () => {
          for (const c of opened) c.socket.destroy()
        })
      // Warm-up: the isolate builds what it builds on first use before the memory baseline is read.
      const first = await step("warm-up", openBatches(fresh.port, ex, warmup, batch))
      await step("warm-up close", closeBatches(first.connections, batch))
      await sleep(settleMs)
      const rssBefore = await steadyRss(fresh, 7)
      const figures: Record<string, number> = { rssBeforeMiB: rssBefore / 2 ** 20 }
      let failures = first.failures
      let unclean = 0
      for (let round = 1; round <= rounds; round++) {
        const processes = fresh.processes()
        const client = process.cpuUsage()
        const server = cpuSeconds(processes)
        const result = await step("opening", openBatches(fresh.port, ex, sockets, batch))
        const serverSeconds = cpuSeconds(processes) - server
        const used = process.cpuUsage(client)
        opened.push(...result.connections)
        failures += result.failures
        if (result.firstFailure !== undefined)
          console.error(`${target.id} upgrades: ${result.failures} failed, first: ${result.firstFailure}`)
        await sleep(settleMs)
        const rssOpen = await steadyRss(fresh, 7)
        const closed = await step("closing", closeBatches(result.connections, batch))
        opened.length = 0
        unclean += closed.unclean
        await sleep(settleMs)
        const rssAfter = await steadyRss(fresh, 7)
        if (round === 1) {
          Object.assign(figures, {
            upgradesPerSec: result.connections.length / result.seconds,
            serverCpuUsPerUpgrade: (serverSeconds * 1e6) / Math.max(1, result.connections.length),
            upgradesPerServerCpuSec: serverSeconds > 0 ? result.connections.length / serverSeconds : 0,
            clientCpu: (used.user + used.system) / 1e6 / result.seconds,
            serverCpu: serverSeconds / result.seconds,
            rssOpenMiB: rssOpen / 2 ** 20,
            rssPerSocketKiB: (rssOpen - rssBefore) / 1024 / sockets,
            rssAfterCloseMiB: rssAfter / 2 ** 20,
            closeSeconds: closed.seconds
          })
        }
        if (rounds > 1) figures[`rssAfterRound${round}MiB`] = rssAfter / 2 ** 20
        if (rounds > 1 && round === rounds)
          figures.rssLastOverFirstRound = rssAfter / 2 ** 20 / (figures.rssAfterRound1MiB as number)
      }
      Object.assign(figures, { failures, uncleanCloses: unclean, valid: failures === 0 && unclean === 0 ? 1 : 0 })
      return {
        [`upgrades: ${sockets} sockets in batches of ${batch}${rounds > 1 ? `, ${rounds} rounds` : ""}`]: figures
      }
    } finally {
      for (const c of opened) c.socket.destroy()
      await fresh.stop()
    }
  },
  async rpc(target) {
    // The keep-alive first, on a connection of its own: one Ping, its Pong checked byte for byte.
    let pongs = 0
    try {
      await (await openAndEcho(target.port, ping, new Meter(), 10_000)).close()
      pongs = 1
    } catch (error) {
      console.error(`${target.id}: Ping got no Pong: ${error instanceof Error ? error.message : String(error)}`)
    }
    const meter = new Meter()
    const { connections: count, depth, warmupMs, measureMs } = settings.closed100
    const connections = await connectAll(target, count, echoCalls(TEXT_20.toString(), PREFIX), meter)
    const { msgsPerSec, serverCpuUsPerMsg, msgsPerServerCpuSec, ...figures } = await measure(
      target,
      (m, probe) => closedLoop(connections, m, { depth, warmupMs, measureMs, probe }),
      meter
    )
    await closeAll(connections)
    return {
      [`${RPC_CALLS}, ${count} conns closed loop, depth ${depth}, 20 B text, NDJSON`]: {
        callsPerSec: msgsPerSec as number,
        serverCpuUsPerCall: serverCpuUsPerMsg as number,
        callsPerServerCpuSec: msgsPerServerCpuSec as number,
        ...figures,
        pongs,
        valid: figures.valid * pongs
      }
    }
  }
}

/** Which targets each workload runs against. */
const runsOn = (workload: string, target: TargetId): boolean => {
  // Cold starts of every target on raw workerd, each timed on what it serves (`coldFigures`): the Socket echo's
  // first 426 and echo, the NDJSON Worker's first call, our Worker's first /rpc call besides its /health and echo.
  if (workload === "coldStart") return isWorkerd(target)
  // The consumer example is there for its cold start.
  if (target === "T9") return false
  // The RPC calls: our Worker's /rpc against the hand-written NDJSON Worker, which serves nothing else.
  if (workload === "rpc" || target === "T8") return workload === "rpc" && (target === "T3" || target === "T8")
  // The Socket echo serves only /echo: it is there for the messages.
  if (target === "T7") return workload === "pingPong" || workload === "closed100"
  // The start-up variants are there for the cold starts.
  if (isStartupVariant(target)) return false
  if (workload === "requests" || workload === "upgrades") return isWorkerd(target)
  // Hono and the plain Durable Object are there for the per-request, per-upgrade and 100-connection figures.
  if (workload === "rampAndOpenLoop" || workload === "payloads") return target !== "T4" && target !== "T5"
  return true
}

/** The headline lines, last in the output: each the median of the paired ratios over the repetitions. */
const printHeadlines = (result: Parameters<typeof headlineLines>[0]) => {
  console.log("")
  for (const line of headlineLines(result)) console.log(line)
}

const main = async () => {
  if (flag("heap")) {
    const sockets = Number(option("heap") ?? 2000)
    const target = (option("heap-target") ?? "T3") as keyof typeof HEAP_TARGETS
    if (!(target in HEAP_TARGETS)) throw new Error(`--heap-target is one of ${Object.keys(HEAP_TARGETS).join(", ")}`)
    return heapAfterClose(Number.isFinite(sockets) ? sockets : 2000, option("pipeline") ?? "stream", target)
  }
  if (flag("profile")) {
    const seconds = Number(option("profile") ?? 5)
    const workload = (option("profile-workload") ?? "closed100") as ProfileWorkload
    if (!PROFILE_WORKLOADS.includes(workload))
      throw new Error(`--profile-workload is one of ${PROFILE_WORKLOADS.join(", ")}, not ${workload}`)
    const target = (option("profile-target") ?? "T3") as ProfileTarget
    if (!(target in PROFILE_TARGETS))
      throw new Error(`--profile-target is one of ${Object.keys(PROFILE_TARGETS).join(", ")}, not ${target}`)
    const [pipeline, backend] = [option("pipeline"), option("backend")]
    return profileWorker(Number.isFinite(seconds) ? seconds : 5, workload, target, {
      ...(pipeline === undefined ? {} : { ECHO_PIPELINE: pipeline }),
      ...(backend === undefined ? {} : { ECHO_BACKEND: backend })
    })
  }
  const wantsUpgrades = only === undefined || only.includes("upgrades")
  if (wantsUpgrades && (openFilesLimit(process.pid) ?? 0) < fdNeeded() && process.env.BENCH_FD_RAISED !== "1") {
    // The client holds every socket of the upgrade workload: run again with the soft limit raised.
    const shell = `ulimit -n ${WORKERD_FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`
    const again = spawnSync("sh", ["-c", shell, process.execPath, ...process.argv.slice(1)], {
      stdio: "inherit",
      env: { ...process.env, BENCH_FD_RAISED: "1" }
    })
    process.exit(again.status ?? 1)
  }
  const began = Date.now()
  console.error(`building the Workers...`)
  const coldStarts = wants("coldStart") ? settings.targets.filter((id) => runsOn("coldStart", id)) : []
  const bundle = buildWorkers(
    option("subject"),
    option("reference"),
    coldStarts.some(isStartupVariant),
    coldStarts.length > 0
  )
  if (settings.targets.includes("T6") && !bundle.effectExportsEchoRoom) {
    skipped.add(T6_SKIPPED)
    console.error(T6_SKIPPED)
    settings.targets = settings.targets.filter((id) => id !== "T6")
    coldStarts.splice(0, coldStarts.length, ...coldStarts.filter((id) => id !== "T6"))
  }
  const toolchain = versions()
  const targets: Target[] = []
  const stopAll = () => Promise.all([...targets.map((t) => t.stop()), stopAllServers()])
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)))
  const runs: Run[] = []
  const failures: { rep: number; workload: string; target: TargetId; error: string }[] = []
  // Servers that run for the whole run: the targets of the workloads that do not start their own.
  const longLived = settings.targets.filter((id) => Object.keys(workloads).some((w) => wants(w) && runsOn(w, id)))
  try {
    if (longLived.length > 0) console.error(`starting ${longLived.map((id) => LABELS[id]).join(", ")}...`)
    const reference = { reference: option("reference") }
    const started = await Promise.allSettled(longLived.map((id) => startTarget(id, reference)))
    for (const result of started) if (result.status === "fulfilled") targets.push(result.value)
    const failed = started.find((result) => result.status === "rejected")
    if (failed) throw failed.reason
    for (let rep = 0; rep < settings.repetitions; rep++) {
      for (const [workload, run] of Object.entries(workloads)) {
        if (!wants(workload)) continue
        for (let k = 0; k < targets.length; k++) {
          const index = (k + rep) % targets.length
          const target = targets[index] as Target
          if (!runsOn(workload, target.id)) continue
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
            targets[index] = await startTarget(target.id, reference)
          }
        }
      }
      // Cold starts: each round starts every target once, in an order that rotates, so noise falls on all alike.
      for (let round = 0; round < settings.coldStart.processes; round++) {
        for (let k = 0; k < coldStarts.length; k++) {
          const id = coldStarts[(k + round + rep) % coldStarts.length] as TargetId
          try {
            const figures = await coldStart(id, reference.reference)
            runs.push({ rep, round, workload: COLD_START, target: id, figures })
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error)
            failures.push({ rep, workload: "coldStart", target: id, error: message })
            console.error(`rep ${rep + 1} coldStart ${id} failed: ${message}`)
          }
        }
        if (coldStarts.length > 0)
          console.error(`rep ${rep + 1} coldStart round ${round + 1} ${Math.round((Date.now() - began) / 1000)} s`)
      }
    }
  } finally {
    await stopAll()
  }
  const stamp = new Date(began)
    .toISOString()
    .replace(/:/g, "-")
    .replace(/\.\d+Z$/, "Z")
  const out = option("out")
  let profile: ReturnType<typeof startupProfile> | undefined
  if (wants("startupProfile")) {
    console.error(`profiling start-up (wrangler check startup, ${settings.startupProfile.runs} runs)...`)
    const keep =
      out === undefined
        ? `${root}bench/results/${stamp}-startup.cpuprofile`
        : out.replace(/\.json$/, ".startup.cpuprofile")
    mkdirSync(`${root}bench/results`, { recursive: true })
    profile = startupProfile(settings.startupProfile.runs, smoke ? undefined : keep)
  }
  // Our bundle's parts; not for a --subject build, which has no metafile.
  const parts = existsSync(EFFECT_METAFILE) ? bundleReport(EFFECT_METAFILE, root) : undefined
  // What a Worker that imports only the Workers adapter ships and evaluates (the Socket echo, T7).
  const socketParts = existsSync(SOCKET_METAFILE)
    ? bundleReport(SOCKET_METAFILE, root, `${root}test/fixtures/socket-echo`)
    : undefined
  // And the consumer example's, on the package as packed (built with the cold starts).
  const consumerParts =
    bundle.consumer !== undefined && existsSync(CONSUMER_METAFILE)
      ? bundleReport(CONSUMER_METAFILE, root, CONSUMER_DIR)
      : undefined
  const summary: Figure[] = summarize(runs)
  const ratios = headline(runs)
  const result = {
    date: new Date().toISOString(),
    durationSeconds: (Date.now() - began) / 1000,
    settings,
    machine: { cpus: (await import("node:os")).cpus().length, loadAverage: (await import("node:os")).loadavg() },
    versions: toolchain,
    bundle,
    ...(parts === undefined ? {} : { bundleReport: parts }),
    ...(socketParts === undefined ? {} : { socketBundleReport: socketParts }),
    ...(consumerParts === undefined ? {} : { consumerBundleReport: consumerParts }),
    targets: Object.fromEntries(settings.targets.map((id) => [id, LABELS[id]])),
    ratios,
    summary,
    startupBreakdown: startupBreakdown(runs),
    coldStartDifferences: coldStartDifferences(runs),
    ...(profile === undefined ? {} : { startupProfile: profile }),
    failures,
    skipped: [...skipped],
    runs
  }
  const mismatches = runs.reduce((n, r) => n + (r.figures.mismatches ?? 0), 0)
  if (smoke) {
    const received = runs.reduce((n, r) => n + (r.figures.msgsPerSec ?? r.figures.callsPerSec ?? 0), 0)
    console.log(`smoke: ${runs.length} windows, ${mismatches} mismatches, ${failures.length} failed workloads`)
    for (const line of headlineLines(result)) console.log(line)
    const invalid = runs.filter((r) => r.figures.valid === 0)
    for (const r of invalid) console.log(`invalid: ${r.workload}, ${r.target}: ${JSON.stringify(r.figures)}`)
    if (mismatches > 0 || received === 0 || invalid.length > 0 || failures.length > 0) process.exit(1)
    return
  }
  if (out !== undefined) {
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
    console.log(markdown(result))
    printHeadlines(result)
    return
  }
  mkdirSync(`${root}bench/results`, { recursive: true })
  writeFileSync(`${root}bench/results/${stamp}.json`, `${JSON.stringify(result, null, 2)}\n`)
  const table = markdown(result)
  writeFileSync(`${root}bench/results/latest.md`, table)
  writeFileSync(`${root}bench/results/latest.svg`, svg(result))
  console.log(table)
  printHeadlines(result)
  console.error(`wrote bench/results/${stamp}.json, bench/results/latest.md, bench/results/latest.svg`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
