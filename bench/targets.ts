// The servers under test: how each is built, started, found in /proc and stopped.
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import {
  answersNotWebSocket,
  bundleExports,
  type DurableObjectClass,
  readWranglerToml,
  startWorkerd,
  WORKERD
} from "../test/support/workerdServe.js"
import { freePort, startWranglerDev, stopProcess } from "../test/support/wranglerDev.js"
import { listenerOf, sessionProcesses } from "./proc.js"

export { WORKERD } from "../test/support/workerdServe.js"

// This module runs bundled, from bench/.build/main.mjs.
export const root = fileURLToPath(new URL("../..", import.meta.url))
const build = `${root}bench/.build/`
const COMPATIBILITY_DATE = readWranglerToml().compatibilityDate

export type TargetId = "T0" | "T1" | "T2" | "T3" | "T3h" | "T4" | "T5" | "T6" | "T2-dev" | "T3-dev" | "T3-ref"

export const LABELS: Record<TargetId, string> = {
  T0: "T0 raw TCP echo (node:net)",
  T1: "T1 Node ws",
  T2: "T2 plain Worker, workerd serve",
  T3: "T3 Effect Worker, workerd serve",
  T3h: "T3h Effect Worker, ECHO_PIPELINE=handler, workerd serve",
  T4: "T4 Hono Worker, workerd serve",
  T5: "T5 plain hibernating Durable Object, workerd serve",
  T6: "T6 Effect Worker, ECHO_BACKEND=durable-object, workerd serve",
  "T2-dev": "T2 plain Worker, wrangler dev",
  "T3-dev": "T3 Effect Worker, wrangler dev",
  "T3-ref": "T3-ref another build of ours, workerd serve"
}

/** The Durable Object class our bundle exports once the Durable Object backend lands, and its binding. */
export const ECHO_ROOM: DurableObjectClass = { className: "EchoRoom", binding: "ECHO_ROOMS" }

/** How each target on raw `workerd serve` is configured: which bundle, which wrangler.toml, what on top. */
const SERVED: Partial<
  Record<
    TargetId,
    {
      readonly bundle: "effect" | "plain" | "hono" | "plain-do" | "reference"
      readonly toml: string
      readonly overrides?: Record<string, string>
      readonly durableObjects?: boolean
    }
  >
> = {
  T2: { bundle: "plain", toml: "bench/plain/wrangler.toml" },
  T3: { bundle: "effect", toml: "wrangler.toml" },
  T3h: { bundle: "effect", toml: "wrangler.toml", overrides: { ECHO_PIPELINE: "handler" } },
  T4: { bundle: "hono", toml: "bench/hono/wrangler.toml" },
  T5: { bundle: "plain-do", toml: "bench/plain-do/wrangler.toml", durableObjects: true },
  T6: {
    bundle: "effect",
    toml: "wrangler.toml",
    overrides: { ECHO_BACKEND: "durable-object" },
    durableObjects: true
  },
  "T3-ref": { bundle: "reference", toml: "wrangler.toml" }
}

/** Targets on raw `workerd serve`: the request, upgrade and first-response workloads run against these. */
export const isWorkerd = (id: TargetId) => id in SERVED

/** File descriptors every workerd gets (the hard limit here); the upgrade workload needs > its socket count. */
export const WORKERD_FD_LIMIT = 20_000

export interface Target {
  readonly id: TargetId
  readonly port: number
  /** A raw TCP echo: no handshake, frames come back as sent. */
  readonly raw: boolean
  /** On raw `workerd serve` (see `isWorkerd`). */
  readonly workerd: boolean
  /** From spawn to the first answer, ms (workerd targets). */
  readonly readyMs?: number
  /** The server's processes right now (all workerd processes of a wrangler dev). */
  readonly processes: () => number[]
  readonly stop: () => Promise<void>
}

const waitForLine = (child: ChildProcess, line: string, timeoutMs: number): Promise<void> =>
  new Promise((resolve, reject) => {
    let output = ""
    const timer = setTimeout(() => reject(new Error(`no "${line}" within ${timeoutMs} ms:\n${output}`)), timeoutMs)
    const onData = (chunk: Buffer) => {
      output += chunk
      if (output.includes(line)) {
        clearTimeout(timer)
        child.stdout?.off("data", onData)
        resolve()
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", (chunk) => (output += chunk))
    child.once("exit", (code) => reject(new Error(`exited with ${code}:\n${output}`)))
  })

const startNode = async (id: "T0" | "T1", script: string): Promise<Target> => {
  const port = await freePort()
  const child = spawn(process.execPath, [`${build}${script}`, String(port)], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"]
  })
  await waitForLine(child, "ready", 10_000)
  const pid = child.pid as number
  return { id, port, raw: id === "T0", workerd: false, processes: () => [pid], stop: () => stopProcess(child) }
}

export interface Size {
  readonly raw: number
  readonly gzip: number
}

/** What the build found: the bundle sizes, and whether our bundle exports the Durable Object class. */
export type Bundles = {
  readonly effect: Size
  readonly plain: Size
  readonly hono: Size
  readonly "plain-do": Size
  readonly effectExportsEchoRoom: boolean
}

/**
 * Bundles every Worker exactly as `npm run build` does (wrangler deploy --dry-run), returns the sizes.
 * `subject` replaces our bundle on raw workerd (T3, T3h, T6) by another build of ours.
 */
export const buildWorkers = (subject?: string): Bundles => {
  const wrangler = `${root}node_modules/.bin/wrangler`
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" }
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore", env })
  rmSync(`${build}serve`, { recursive: true, force: true })
  for (const name of ["plain", "hono", "plain-do"]) {
    // An absolute --outdir: wrangler resolves a relative one against the config's directory.
    execFileSync(
      wrangler,
      ["deploy", "--dry-run", "--outdir", `${build}${name}`, "--config", `bench/${name}/wrangler.toml`],
      { cwd: root, stdio: "ignore", env }
    )
  }
  mkdirSync(`${build}effect`, { recursive: true })
  copyFileSync(subject ?? `${root}dist/worker.js`, `${build}effect/worker.js`)
  const size = (file: string): Size => {
    const bytes = readFileSync(file)
    return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }
  }
  return {
    effect: size(`${build}effect/worker.js`),
    plain: size(`${build}plain/worker.js`),
    hono: size(`${build}hono/worker.js`),
    "plain-do": size(`${build}plain-do/worker.js`),
    effectExportsEchoRoom: bundleExports(`${build}effect/worker.js`).includes(ECHO_ROOM.className)
  }
}

let instances = 0

/**
 * Serves one target's bundle on raw workerd, from a directory of its own (each instance writes its own
 * config.capnp), with the descriptor limit raised. `reference` is the bundle T3-ref serves.
 */
const startServed = async (
  id: TargetId,
  options: { reference?: string | undefined; ready?: (port: number) => Promise<boolean>; pollMs?: number }
): Promise<Target> => {
  const spec = SERVED[id]
  if (spec === undefined) throw new Error(`${id} is not served by workerd`)
  const dir = `${build}serve/${id}-${instances++}/`
  mkdirSync(dir, { recursive: true })
  const source = spec.bundle === "reference" ? options.reference : `${build}${spec.bundle}/worker.js`
  if (source === undefined) throw new Error(`${id} needs --reference path/to/worker.js`)
  copyFileSync(source, `${dir}worker.js`)
  const exportsEchoRoom = bundleExports(`${dir}worker.js`).includes(ECHO_ROOM.className)
  if (id === "T6" && !exportsEchoRoom) throw new Error(T6_SKIPPED)
  const toml = readWranglerToml(`${root}${spec.toml}`)
  const served = await startWorkerd({
    dir,
    wranglerToml: `${root}${spec.toml}`,
    // The plain baselines have no [vars]; ours get wrangler.toml's plus the target's overrides.
    vars: toml.vars,
    overrides: spec.overrides ?? {},
    // Our bundle gets its Durable Object namespace whenever it exports the class, whatever the backend.
    durableObjects: spec.durableObjects || (spec.bundle !== "plain-do" && exportsEchoRoom) ? [ECHO_ROOM] : [],
    fdLimit: WORKERD_FD_LIMIT,
    verbose: true,
    ready: options.ready ?? answersNotWebSocket,
    pollMs: options.pollMs ?? 100
  })
  return {
    id,
    port: served.port,
    raw: false,
    workerd: true,
    readyMs: served.readyMs,
    processes: () => sessionProcesses(served.pid, "workerd"),
    stop: served.stop
  }
}

/** Why T6 does not run yet. */
export const T6_SKIPPED =
  "T6 skipped: our bundle does not export the Durable Object class EchoRoom, so ECHO_BACKEND=durable-object has not landed"

const startDev = async (id: "T2-dev" | "T3-dev"): Promise<Target> => {
  const dev = await startWranglerDev(id === "T2-dev" ? { config: "bench/plain/wrangler.toml" } : {})
  const listener = listenerOf(dev.port)
  if (listener === undefined) throw new Error(`no process listens on ${dev.port}`)
  return {
    id,
    port: dev.port,
    raw: false,
    workerd: false,
    processes: () => sessionProcesses(listener, "workerd"),
    stop: dev.stop
  }
}

/**
 * Starts a target. `reference` is the bundle (a `dist/worker.js` of another commit) that T3-ref serves; `ready`
 * and `pollMs` replace the readiness check of a workerd target (e.g. the first `GET /health`, polled often).
 */
export const startTarget = (
  id: TargetId,
  options: { reference?: string | undefined; ready?: (port: number) => Promise<boolean>; pollMs?: number } = {}
): Promise<Target> => {
  switch (id) {
    case "T0":
      return startNode("T0", "targets/tcp-echo.mjs")
    case "T1":
      return startNode("T1", "targets/ws-echo.mjs")
    case "T2-dev":
    case "T3-dev":
      return startDev(id)
    default:
      return startServed(id, options)
  }
}

/** The toolchain every result is tied to. */
export const versions = () => {
  const pkg = (name: string) => JSON.parse(readFileSync(`${root}node_modules/${name}/package.json`, "utf8")).version
  return {
    node: process.version,
    workerd: execFileSync(WORKERD, ["--version"], { encoding: "utf8" }).trim(),
    wrangler: pkg("wrangler"),
    ws: pkg("ws"),
    effect: pkg("effect"),
    "@effect/platform": pkg("@effect/platform"),
    hono: existsSync(`${root}node_modules/hono/package.json`) ? pkg("hono") : undefined,
    compatibilityDate: COMPATIBILITY_DATE
  }
}
