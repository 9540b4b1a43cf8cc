// The servers under test: how each is built, started, found in /proc and stopped.
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
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
import { freePort, NOT_WEBSOCKET, startWranglerDev, stopProcess } from "../test/support/wranglerDev.js"
import { listenerOf, sessionProcesses } from "./proc.js"
import { STARTUP_VARIANTS, type StartupVariant } from "./startupVariants.js"

export { WORKERD } from "../test/support/workerdServe.js"

// This module runs bundled, from bench/.build/main.mjs.
export const root = fileURLToPath(new URL("../..", import.meta.url))
const build = `${root}bench/.build/`
const COMPATIBILITY_DATE = readWranglerToml().compatibilityDate

/**
 * The native workerd binary, as the `workerd` package (wrangler's) resolves it for this platform: `WORKERD` is the
 * package's Node launcher, whose own start-up (≈ 60 ms here) would be most of a plain Worker's cold start.
 */
export const WORKERD_BINARY: string = (() => {
  const resolved = createRequire(`${root}package.json`)("workerd") as { default: string | { default: string } }
  return typeof resolved.default === "string" ? resolved.default : resolved.default.default
})()

export type TargetId =
  | "T0"
  | "T1"
  | "T2"
  | "T3"
  | "T3h"
  | "T4"
  | "T5"
  | "T6"
  | "T7"
  | "T8"
  | "T9"
  | "T2-dev"
  | "T3-dev"
  | "T3-ref"
  | "T3h-ref"
  | "T6-ref"
  | "T3-load"
  | "T3-built"

export const LABELS: Record<TargetId, string> = {
  T0: "T0 raw TCP echo (node:net)",
  T1: "T1 Node ws",
  T2: "T2 plain Worker, workerd serve",
  T3: "T3 Effect Worker, workerd serve",
  T3h: "T3h Effect Worker, ECHO_PIPELINE=handler, workerd serve",
  T4: "T4 Hono Worker, workerd serve",
  T5: "T5 plain hibernating Durable Object, workerd serve",
  T6: "T6 Effect Worker, ECHO_BACKEND=durable-object, workerd serve",
  T7: "T7 Socket echo on toFetchHandler (test/fixtures/socket-echo), workerd serve",
  T8: "T8 plain NDJSON RPC Worker, workerd serve",
  T9: "T9 the consumer example (examples/consumer) on the package as packed, workerd serve",
  "T2-dev": "T2 plain Worker, wrangler dev",
  "T3-dev": "T3 Effect Worker, wrangler dev",
  "T3-ref": "T3-ref another build of ours, workerd serve",
  "T3h-ref": "T3h-ref another build of ours, ECHO_PIPELINE=handler, workerd serve",
  "T6-ref": "T6-ref another build of ours, ECHO_BACKEND=durable-object, workerd serve",
  "T3-load": "T3-load our modules loaded, /health answered by hand (no runtime), workerd serve",
  "T3-built": "T3-built our modules loaded and the runtime built at load, /health by hand, workerd serve"
}

/** The Durable Object class our bundle exports once the Durable Object backend lands, and its binding. */
export const ECHO_ROOM: DurableObjectClass = { className: "EchoRoom", binding: "ECHO_ROOMS" }

/** How each target on raw `workerd serve` is configured: which bundle, which wrangler.toml, what on top. */
const SERVED: Partial<
  Record<
    TargetId,
    {
      readonly bundle:
        | "effect"
        | "plain"
        | "hono"
        | "plain-do"
        | "socket"
        | "plain-ndjson"
        | "consumer"
        | "reference"
        | StartupVariant
      readonly toml: string
      readonly overrides?: Record<string, string>
      readonly durableObjects?: boolean
      /** Where a GET without Upgrade answers our 426 (the readiness check). Default `/echo`. */
      readonly readyPath?: string
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
  T7: { bundle: "socket", toml: "test/fixtures/socket-echo/wrangler.toml" },
  T8: { bundle: "plain-ndjson", toml: "bench/plain-ndjson/wrangler.toml", readyPath: "/rpc" },
  // Its Durable Object binding (ROOMS) from its wrangler.toml.
  T9: { bundle: "consumer", toml: "examples/consumer/wrangler.toml" },
  "T3-ref": { bundle: "reference", toml: "wrangler.toml" },
  "T3h-ref": { bundle: "reference", toml: "wrangler.toml", overrides: { ECHO_PIPELINE: "handler" } },
  "T6-ref": {
    bundle: "reference",
    toml: "wrangler.toml",
    overrides: { ECHO_BACKEND: "durable-object" },
    durableObjects: true
  },
  // The start-up breakdown: our modules with less of the first request's work (see startupVariants.ts).
  "T3-load": { bundle: "effect-load", toml: "wrangler.toml" },
  "T3-built": { bundle: "effect-built", toml: "wrangler.toml" }
}

/** The start-up variants, built only when one of them is a target. */
export const isStartupVariant = (id: TargetId) => id === "T3-load" || id === "T3-built"

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
  /** The Socket echo on toFetchHandler (T7): what a Worker that uses only toFetchHandler and Socket ships. */
  readonly socket: Size
  readonly "plain-ndjson": Size
  /** `--reference`'s bundle (T3-ref), when given. */
  readonly reference?: Size
  /** The start-up variants of ours (T3-load, T3-built), when one of them is a target. */
  readonly "effect-load"?: Size
  readonly "effect-built"?: Size
  /** The consumer example (examples/consumer) on the package as packed, when the cold starts run. */
  readonly consumer?: Size
  readonly effectExportsEchoRoom: boolean
}

/** The bundles wrangler builds, each from its wrangler.toml (`--config`, relative to the project). */
const BUNDLED = {
  effect: "wrangler.toml",
  plain: "bench/plain/wrangler.toml",
  hono: "bench/hono/wrangler.toml",
  "plain-do": "bench/plain-do/wrangler.toml",
  socket: "test/fixtures/socket-echo/wrangler.toml",
  "plain-ndjson": "bench/plain-ndjson/wrangler.toml"
} as const

/** esbuild's metafile of our bundle (T3), beside it; not written for a `--subject` build. */
export const EFFECT_METAFILE = `${build}effect/bundle-meta.json`

/** esbuild's metafile of the Socket echo on `toFetchHandler` (T7): a Worker that imports only the Workers adapter. */
export const SOCKET_METAFILE = `${build}socket/bundle-meta.json`

/** Where the consumer example is built (`buildConsumer`), and esbuild's metafile of its bundle. */
export const CONSUMER_DIR = `${build}consumer-src/`
export const CONSUMER_METAFILE = `${build}consumer/bundle-meta.json`

/** The bundles built with esbuild's metafile beside them. */
const METAFILES: Partial<Record<string, string>> = { effect: EFFECT_METAFILE, socket: SOCKET_METAFILE }

/**
 * Writes a start-up variant's entry and a wrangler.toml that is the project's with that entry as `main`, so it is
 * bundled with the same date, flags and settings as ours; returns the config's path.
 */
const variantConfig = (name: StartupVariant): string => {
  const dir = `${build}variants/${name}/`
  mkdirSync(dir, { recursive: true })
  // Named worker.js: wrangler names the bundle after its entry.
  writeFileSync(`${dir}worker.js`, STARTUP_VARIANTS[name](`${root}src/runtime/`))
  const toml = readFileSync(`${root}wrangler.toml`, "utf8").replace(/^main\s*=.*$/m, `main = "worker.js"`)
  writeFileSync(`${dir}wrangler.toml`, toml)
  return `${dir}wrangler.toml`
}

/**
 * Bundles every Worker exactly as `npm run build` does (wrangler deploy --dry-run, each with its wrangler.toml),
 * into `bench/.build/NAME/` (never `dist/`, which the package build owns), and returns the sizes; ours with
 * esbuild's metafile (`EFFECT_METAFILE`), and the Socket echo's (`SOCKET_METAFILE`). `subject` replaces our bundle on raw workerd (T3, T3h, T6) by another
 * build of ours; `reference` is only measured. `variants`: the start-up variants too, from this tree's `src/`.
 */
export const buildWorkers = (subject?: string, reference?: string, variants = false, consumer = false): Bundles => {
  const wrangler = `${root}node_modules/.bin/wrangler`
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" }
  rmSync(`${build}serve`, { recursive: true, force: true })
  for (const metafile of Object.values(METAFILES)) if (metafile !== undefined) rmSync(metafile, { force: true })
  const configs: Array<[string, string]> = [
    ...Object.entries(BUNDLED),
    ...(variants ? (Object.keys(STARTUP_VARIANTS) as StartupVariant[]).map((name) => [name, variantConfig(name)]) : [])
  ] as Array<[string, string]>
  for (const [name, config] of configs) {
    if (name === "effect" && subject !== undefined) continue
    const meta = METAFILES[name]
    const metafile = meta === undefined ? [] : ["--metafile", meta]
    // An absolute --outdir: wrangler resolves a relative one against the config's directory.
    execFileSync(wrangler, ["deploy", "--dry-run", "--outdir", `${build}${name}`, ...metafile, "--config", config], {
      cwd: root,
      stdio: "ignore",
      env
    })
  }
  if (consumer) buildConsumer(wrangler, env)
  if (subject !== undefined) {
    mkdirSync(`${build}effect`, { recursive: true })
    copyFileSync(subject, `${build}effect/worker.js`)
  }
  const size = (file: string): Size => {
    const bytes = readFileSync(file)
    return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }
  }
  return {
    effect: size(`${build}effect/worker.js`),
    plain: size(`${build}plain/worker.js`),
    hono: size(`${build}hono/worker.js`),
    "plain-do": size(`${build}plain-do/worker.js`),
    socket: size(`${build}socket/worker.js`),
    "plain-ndjson": size(`${build}plain-ndjson/worker.js`),
    ...(reference === undefined ? {} : { reference: size(reference) }),
    ...(variants
      ? { "effect-load": size(`${build}effect-load/worker.js`), "effect-built": size(`${build}effect-built/worker.js`) }
      : {}),
    ...(consumer ? { consumer: size(`${build}consumer/worker.js`) } : {}),
    effectExportsEchoRoom: bundleExports(`${build}effect/worker.js`).includes(ECHO_ROOM.className)
  }
}

/**
 * Builds the consumer example (examples/consumer: our routes beside its own, `/rpc`, rooms) as its users do, but
 * offline: the package compiled as `npm pack` ships it (`tsc -p tsconfig.build.json` into
 * `node_modules/websocket-echo/dist`, with our package.json), the example's source, package.json and wrangler.toml
 * beside it in `CONSUMER_DIR`, bundled by `wrangler deploy --dry-run` with a metafile into `bench/.build/consumer/`
 * (T9 serves it). Its other dependencies
 * resolve to this project's node_modules, the versions the example pins.
 */
const buildConsumer = (wrangler: string, env: NodeJS.ProcessEnv) => {
  const example = `${root}examples/consumer/`
  const pkg = `${CONSUMER_DIR}node_modules/websocket-echo/`
  rmSync(CONSUMER_DIR, { recursive: true, force: true })
  mkdirSync(pkg, { recursive: true })
  execFileSync(`${root}node_modules/.bin/tsc`, ["-p", "tsconfig.build.json", "--outDir", `${pkg}dist`], {
    cwd: root,
    stdio: "ignore"
  })
  copyFileSync(`${root}package.json`, `${pkg}package.json`)
  // The example's package.json: without it, `websocket-echo` would resolve to this project itself (self-reference).
  for (const file of ["package.json", "wrangler.toml"]) copyFileSync(`${example}${file}`, `${CONSUMER_DIR}${file}`)
  cpSync(`${example}src`, `${CONSUMER_DIR}src`, { recursive: true })
  execFileSync(wrangler, ["deploy", "--dry-run", "--outdir", `${build}consumer`, "--metafile", CONSUMER_METAFILE], {
    cwd: CONSUMER_DIR,
    stdio: "ignore",
    env
  })
}

let instances = 0

/**
 * Serves one target's bundle on raw workerd, from a directory of its own (each instance writes its own
 * config.capnp), with the descriptor limit raised. `reference` is the bundle T3-ref serves.
 */
const startServed = async (id: TargetId, options: StartOptions): Promise<Target> => {
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
    // Our bundle gets its Durable Object namespace whenever it exports the class, whatever the backend; the
    // consumer example the ones its wrangler.toml binds.
    durableObjects:
      spec.bundle === "consumer"
        ? toml.durableObjects
        : spec.durableObjects || (spec.bundle !== "plain-do" && exportsEchoRoom)
          ? [ECHO_ROOM]
          : [],
    // A cold start times workerd itself: its native binary, not the launcher nor a shell that raises the limit.
    ...(options.coldStart ? { binary: WORKERD_BINARY } : { fdLimit: WORKERD_FD_LIMIT }),
    verbose: true,
    ready:
      options.ready ?? (spec.readyPath === undefined ? answersNotWebSocket : answersNotWebSocketAt(spec.readyPath)),
    pollMs: options.pollMs ?? 100
  })
  return {
    id,
    port: served.port,
    raw: false,
    workerd: true,
    readyMs: served.readyMs,
    processes: () => sessionProcesses(served.pid, "workerd"),
    stop: options.coldStart
      ? () => served.stop().then(() => rmSync(dir, { recursive: true, force: true }))
      : served.stop
  }
}

/** Answers true once a GET without Upgrade to `path` returns our 426 body. */
const answersNotWebSocketAt = (path: string) => (port: number) =>
  fetch(`http://127.0.0.1:${port}${path}`).then(
    async (response) => response.status === 426 && (await response.text()) === NOT_WEBSOCKET,
    () => false
  )

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

export interface StartOptions {
  /** The bundle (a `dist/worker.js` of another commit) that T3-ref, T3h-ref and T6-ref serve. */
  readonly reference?: string | undefined
  /** Replaces the readiness check of a workerd target (e.g. the first `GET /health`, polled often). */
  readonly ready?: (port: number) => Promise<boolean>
  readonly pollMs?: number
  /** A cold start: the native workerd binary spawned directly (no launcher, no `ulimit` shell), its directory removed when it stops. */
  readonly coldStart?: boolean
}

/** Starts a target. */
export const startTarget = (id: TargetId, options: StartOptions = {}): Promise<Target> => {
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
