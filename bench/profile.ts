// `npm run bench -- --profile [seconds] [--profile-workload closed100|requests|upgrades|rpc] [--profile-target T3|T7]`:
// a V8 CPU profile of our Worker (or the Socket echo) on workerd serve under one workload, taken through workerd's
// inspector, summarised by self time and by the bundle module it is spent in.
import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import WebSocket from "ws"
import { startWorkerd } from "../test/support/workerdServe.js"
import { freePort, NOT_WEBSOCKET } from "../test/support/wranglerDev.js"
import { Connection, closedLoop, exchange, Meter, openMany, TEXT } from "./client.js"
import { keepAliveClients } from "./http.js"
import { echoCalls } from "./rpc.js"
import { root, WORKERD_FD_LIMIT } from "./targets.js"
import { closeBatches, openBatches } from "./upgrades.js"

export const PROFILE_WORKLOADS = ["closed100", "requests", "upgrades", "rpc"] as const
/**
 * closed100: 100 connections, one 20 B message in flight each. requests: 50 keep-alive connections,
 * alternately 1000 `GET /echo` without Upgrade (426) and 1000 `GET /health`. upgrades: 500 sockets opened at
 * once (one echo each) and closed cleanly, over and over. rpc: 100 connections to `/rpc?serialization=ndjson`,
 * one `Echo` call in flight each.
 */
export type ProfileWorkload = (typeof PROFILE_WORKLOADS)[number]

export interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}
/** A V8 CPU profile, as the inspector writes it. */
export interface Profile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

const inspect = async (port: number) => {
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string
  }[]
  if (target === undefined) throw new Error("no inspector target")
  const socket = new WebSocket(target.webSocketDebuggerUrl)
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject))
  let id = 0
  const pending = new Map<number, (result: unknown) => void>()
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown }
    if (message.id !== undefined) pending.get(message.id)?.(message.result)
  })
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve)
      socket.send(JSON.stringify({ id, method, params }))
    })
  return { call, close: () => socket.close() }
}

/** Where the self time goes, by the bundle module a function is in (esbuild's `// path` comment above it). */
const GROUPS: ReadonlyArray<readonly [string, (module: string) => boolean]> = [
  ["@effect/rpc (server, protocol, serialization)", (m) => m.includes("@effect/rpc/")],
  [
    "Schema encode/decode (Schema, ParseResult, SchemaAST)",
    (m) => /effect\/dist\/esm\/(Schema|SchemaAST|ParseResult|internal\/schema\/)/.test(m)
  ],
  ["@effect/platform (Socket, HttpServerRequest, ...)", (m) => m.includes("@effect/platform/")],
  ["our code (src/: the connection, toFetchHandler, routes)", (m) => m.startsWith("src/")],
  [
    "Effect: Stream, Channel, Mailbox, Queue",
    (m) => /effect\/dist\/esm\/(internal\/)?(stream|channel|mailbox|queue|Stream|Channel|Mailbox|Queue)/.test(m)
  ],
  ["Effect: fiber runtime, core and data types", (m) => m.includes("node_modules/effect/")]
]

/** The module of a 0-based line of an unminified bundle, from the `// path` comment each module starts with. */
export const modulesOf = (bundle: string) => {
  const starts: { line: number; module: string }[] = []
  bundle.split("\n").forEach((text, line) => {
    // Paths are relative to the wrangler.toml's directory: the fixture's start with ../../../.
    const m = /^\/\/ (?:\.\.\/)*(\S+\.(?:m?js|ts))$/.exec(text)
    if (m) starts.push({ line, module: m[1] as string })
  })
  return (line: number): string => {
    let lo = 0
    let hi = starts.length - 1
    let found = "(bundle prelude)"
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const start = starts[mid] as { line: number; module: string }
      if (start.line <= line) {
        found = start.module
        lo = mid + 1
      } else hi = mid - 1
    }
    return found
  }
}

/**
 * Self time grouped: idle, GC, the runtime's own native work (`send`, `JSON`, `TextDecoder`, `(program)`), and
 * the bundle's functions by their module's group; as percent of all samples and of the busy ones, and µs per
 * unit of work (`units`: the calls, messages or requests answered while profiling).
 */
const breakdown = (profile: Profile, bundle: string, units: number) => {
  const moduleOf = modulesOf(bundle)
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const groups = new Map<string, number>()
  const modules = new Map<string, number>()
  let total = 0
  profile.samples.forEach((sample, i) => {
    const frame = byId.get(sample)?.callFrame
    const time = profile.timeDeltas[i] ?? 0
    total += time
    if (frame === undefined) return
    let group: string
    if (frame.functionName === "(idle)") group = "idle"
    else if (frame.functionName === "(garbage collector)") group = "GC"
    else if (frame.lineNumber < 0) group = "runtime: native and (program)"
    else {
      const module = moduleOf(frame.lineNumber)
      modules.set(module, (modules.get(module) ?? 0) + time)
      group = GROUPS.find(([, matches]) => matches(module))?.[0] ?? "other bundle code (the entry, other packages)"
    }
    groups.set(group, (groups.get(group) ?? 0) + time)
  })
  const busy = total - (groups.get("idle") ?? 0)
  const rows = (entries: Map<string, number>) =>
    [...entries.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, time]) => ({
        name,
        ofAll: (100 * time) / total,
        ofBusy: name === "idle" ? undefined : (100 * time) / busy,
        usPerUnit: time / Math.max(1, units)
      }))
  return { totalUs: total, busyUs: busy, groups: rows(groups), modules: rows(modules).slice(0, 15) }
}

/** Self time per function, in percent of the samples, highest first. */
const selfTimes = (profile: Profile): [string, number][] => {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const total = profile.timeDeltas.reduce((a, b) => a + b, 0)
  const self = new Map<string, number>()
  profile.samples.forEach((sample, i) => {
    const frame = byId.get(sample)?.callFrame
    if (frame === undefined) return
    const name = `${frame.functionName || "(anonymous)"}${frame.lineNumber >= 0 ? ` worker.js:${frame.lineNumber + 1}` : ""}`
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  return [...self.entries()]
    .map(([name, time]): [string, number] => [name, (100 * time) / total])
    .sort((a, b) => b[1] - a[1])
}

/**
 * Our Worker built as `npm run build` builds it but unminified (so that profiles and heap snapshots name its
 * functions and classes) into `bench/.build/NAME/`, served by workerd with wrangler.toml's date, flags and
 * [vars] (and `overrides`), as for T3, with its inspector on a free port.
 */
export const startInspectable = async (
  name: string,
  overrides: Record<string, string> = {},
  config: string = PROFILE_TARGETS.T3
) => {
  const dir = `${root}bench/.build/${name}/`
  mkdirSync(dir, { recursive: true })
  execFileSync(
    `${root}node_modules/.bin/wrangler`,
    ["deploy", "--dry-run", "--outdir", dir, "--minify=false", "--config", config],
    { cwd: root, stdio: "ignore", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } }
  )
  const inspector = await freePort()
  const server = await startWorkerd({
    dir,
    wranglerToml: `${root}${config}`,
    inspectorPort: inspector,
    fdLimit: WORKERD_FD_LIMIT,
    overrides
  })
  return { dir, inspector, server }
}

/** The Workers a profile can be taken of, by their wrangler.toml: ours (T3), the Socket echo on toFetchHandler (T7). */
export const PROFILE_TARGETS = { T3: "wrangler.toml", T7: "test/fixtures/socket-echo/wrangler.toml" } as const
export type ProfileTarget = keyof typeof PROFILE_TARGETS

export const profileWorker = async (
  seconds: number,
  workload: ProfileWorkload = "closed100",
  target: ProfileTarget = "T3",
  overrides: Record<string, string> = {}
) => {
  // The Socket echo serves only /echo.
  if (target === "T7" && workload !== "closed100" && workload !== "upgrades")
    throw new Error(`--profile-target T7 profiles closed100 or upgrades, not ${workload}`)
  const { dir, inspector, server } = await startInspectable("profile", overrides, PROFILE_TARGETS[target])
  const port = server.port
  try {
    const { call, close } = await inspect(inspector)
    await call("Profiler.enable")
    await call("Profiler.setSamplingInterval", { interval: 100 })
    const stop = async () => ((await call("Profiler.stop")) as { profile: Profile }).profile
    let profile: Profile
    let summary: string
    let units = 0
    let unit = "message"
    if (workload === "closed100" || workload === "rpc") {
      const meter = new Meter()
      const text = "0123456789abcdefghij"
      const ex = workload === "rpc" ? echoCalls(text, "echo: ") : exchange(TEXT, Buffer.from(text), "echo: ")
      if (workload === "rpc") unit = "call"
      const connections = await openMany(100, 50, () => Connection.open(port, ex, meter, false))
      let stopped: Promise<Profile> | undefined
      const window = await closedLoop(connections, meter, {
        depth: 1,
        warmupMs: 500,
        measureMs: seconds * 1000,
        probe: (edge) => {
          if (edge === "start") void call("Profiler.start")
          else stopped = stop()
        }
      })
      profile = await (stopped as Promise<Profile>)
      await Promise.all(connections.map((c) => c.close()))
      units = window.received
      summary = `${Math.round(window.received / window.seconds)} ${unit}s/s while profiling, ${window.mismatches} mismatches`
    } else if (workload === "requests") {
      const clients = keepAliveClients(port, 50)
      const notWebSocket = { path: "/echo", status: 426, contentType: "application/json", body: NOT_WEBSOCKET }
      const health = { path: "/health", status: 200, contentType: "application/json", body: '{"status":"ok"}' }
      await clients.run(notWebSocket, 500)
      await clients.run(health, 500)
      await call("Profiler.start")
      const end = performance.now() + seconds * 1000
      let ok = 0
      let failures = 0
      while (performance.now() < end) {
        for (const expected of [notWebSocket, health]) {
          const window = await clients.run(expected, 1000)
          ok += window.ok
          failures += window.failures
        }
      }
      profile = await stop()
      clients.close()
      units = ok
      unit = "request"
      summary = `${Math.round(ok / seconds)} requests/s while profiling (half 426, half /health), ${failures} failures`
    } else {
      const ex = exchange(TEXT, Buffer.from("0123456789abcdefghij"), "echo: ")
      await closeBatches((await openBatches(port, ex, 500, 500)).connections, 500)
      await call("Profiler.start")
      const end = performance.now() + seconds * 1000
      let upgrades = 0
      let failures = 0
      let unclean = 0
      while (performance.now() < end) {
        const opened = await openBatches(port, ex, 500, 500)
        upgrades += opened.connections.length
        failures += opened.failures
        unclean += (await closeBatches(opened.connections, 500)).unclean
      }
      profile = await stop()
      units = upgrades
      unit = "upgrade"
      summary = `${Math.round(upgrades / seconds)} upgrades/s (open, one echo, close) while profiling, ${failures} failures, ${unclean} unclean closes`
    }
    close()
    writeFileSync(`${dir}worker.cpuprofile`, JSON.stringify(profile))
    console.log(summary)
    console.log(
      `profile (${target}, ${workload}): bench/.build/profile/worker.cpuprofile (open in Chrome DevTools); self time, top 30:`
    )
    const moduleOf = modulesOf(readFileSync(`${dir}worker.js`, "utf8"))
    for (const [name, percent] of selfTimes(profile).slice(0, 30)) {
      const line = Number(/worker\.js:(\d+)$/.exec(name)?.[1] ?? 0)
      console.log(`${percent.toFixed(1).padStart(6)}%  ${name}${line > 0 ? `  (${moduleOf(line - 1)})` : ""}`)
    }
    const grouped = breakdown(profile, readFileSync(`${dir}worker.js`, "utf8"), units)
    const row = (r: (typeof grouped.groups)[number]) =>
      `${r.ofAll.toFixed(1).padStart(6)}%  ${r.ofBusy === undefined ? "      " : `${r.ofBusy.toFixed(1).padStart(5)}%`}  ${r.usPerUnit.toFixed(2).padStart(6)} µs  ${r.name}`
    console.log(`\nself time by group: of all samples, of the busy ones, µs per ${unit} (${units} ${unit}s):`)
    for (const r of grouped.groups) console.log(row(r))
    console.log(`busy: ${(grouped.busyUs / Math.max(1, units)).toFixed(2)} µs per ${unit} on the isolate's thread`)
    console.log("\nself time by module, top 15 (bundle code only):")
    for (const r of grouped.modules) console.log(row(r))
    writeFileSync(`${dir}breakdown.json`, `${JSON.stringify({ workload, units, unit, ...grouped }, null, 2)}\n`)
  } finally {
    await server.stop()
  }
}
