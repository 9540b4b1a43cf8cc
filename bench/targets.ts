// The servers under test: how each is built, started, found in /proc and stopped.
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import { freePort, startWranglerDev, stopProcess } from "../test/support/wranglerDev.js"
import { listenerOf, sessionProcesses } from "./proc.js"

// This module runs bundled, from bench/.build/main.mjs.
export const root = fileURLToPath(new URL("../..", import.meta.url))
const build = `${root}bench/.build/`
export const WORKERD = `${root}node_modules/@cloudflare/workerd-linux-64/bin/workerd`
const COMPATIBILITY_DATE = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync(`${root}wrangler.toml`, "utf8"))?.[1]

export type TargetId = "T0" | "T1" | "T2" | "T3" | "T2-dev" | "T3-dev" | "T3-ref"

export const LABELS: Record<TargetId, string> = {
  T0: "T0 raw TCP echo (node:net)",
  T1: "T1 Node ws",
  T2: "T2 plain Worker, workerd serve",
  T3: "T3 Effect Worker, workerd serve",
  "T2-dev": "T2 plain Worker, wrangler dev",
  "T3-dev": "T3 Effect Worker, wrangler dev",
  "T3-ref": "T3-ref another build of ours, workerd serve"
}

export interface Target {
  readonly id: TargetId
  readonly port: number
  /** A raw TCP echo: no handshake, frames come back as sent. */
  readonly raw: boolean
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

const waitFor426 = async (port: number, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const status = await fetch(`http://127.0.0.1:${port}/echo`).then(
      (r) => r.status,
      () => 0
    )
    if (status === 426) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`nothing answered 426 on port ${port}`)
}

const startNode = async (id: "T0" | "T1", script: string): Promise<Target> => {
  const port = await freePort()
  const child = spawn(process.execPath, [`${build}${script}`, String(port)], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"]
  })
  await waitForLine(child, "ready", 10_000)
  const pid = child.pid as number
  return { id, port, raw: id === "T0", processes: () => [pid], stop: () => stopProcess(child) }
}

/**
 * Bundles both Workers exactly as `npm run build` does (wrangler deploy --dry-run), returns the sizes.
 * `subject` replaces our bundle on raw workerd (T3) by another build of ours.
 */
export const buildWorkers = (subject?: string) => {
  const wrangler = `${root}node_modules/.bin/wrangler`
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" }
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore", env })
  execFileSync(
    wrangler,
    ["deploy", "--dry-run", "--outdir", `${build}plain`, "--config", "bench/plain/wrangler.toml"],
    {
      cwd: root,
      stdio: "ignore",
      env
    }
  )
  mkdirSync(`${build}effect`, { recursive: true })
  copyFileSync(subject ?? `${root}dist/worker.js`, `${build}effect/worker.js`)
  const size = (file: string) => {
    const bytes = readFileSync(file)
    return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }
  }
  return { effect: size(`${build}effect/worker.js`), plain: size(`${build}plain/worker.js`) }
}

const capnp = (port: number, bindings: Record<string, string>) => `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [${Object.entries(bindings)
    .map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`)
    .join(", ")}],
);
`

const wranglerVars = (): Record<string, string> => {
  const toml = readFileSync(`${root}wrangler.toml`, "utf8")
  const section = toml.split("[vars]")[1]?.split(/\n\[/)[0] ?? ""
  return Object.fromEntries([...section.matchAll(/^(\w+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]]))
}

const startWorkerd = async (id: "T2" | "T3" | "T3-ref", bundle?: string): Promise<Target> => {
  const port = await freePort()
  const dir = `${build}${id === "T3" ? "effect" : id === "T3-ref" ? "reference" : "plain"}/`
  if (bundle !== undefined) {
    mkdirSync(dir, { recursive: true })
    copyFileSync(bundle, `${dir}worker.js`)
  }
  writeFileSync(`${dir}config.capnp`, capnp(port, id === "T2" ? {} : wranglerVars()))
  const child = spawn(WORKERD, ["serve", "config.capnp", "--verbose"], {
    cwd: dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (chunk) => (output += chunk))
  child.stderr?.on("data", (chunk) => (output += chunk))
  await waitFor426(port, 15_000).catch((error) => {
    throw new Error(`${error.message}\n${output}`)
  })
  const pid = child.pid as number
  return { id, port, raw: false, processes: () => sessionProcesses(pid, "workerd"), stop: () => stopProcess(child) }
}

const startDev = async (id: "T2-dev" | "T3-dev"): Promise<Target> => {
  const dev = await startWranglerDev(id === "T2-dev" ? { config: "bench/plain/wrangler.toml" } : {})
  const listener = listenerOf(dev.port)
  if (listener === undefined) throw new Error(`no process listens on ${dev.port}`)
  return {
    id,
    port: dev.port,
    raw: false,
    processes: () => sessionProcesses(listener, "workerd"),
    stop: dev.stop
  }
}

/** Starts a target; `reference` is the bundle (a `dist/worker.js` of another commit) that T3-ref serves. */
export const startTarget = (id: TargetId, reference?: string): Promise<Target> => {
  switch (id) {
    case "T0":
      return startNode("T0", "targets/tcp-echo.mjs")
    case "T1":
      return startNode("T1", "targets/ws-echo.mjs")
    case "T2":
    case "T3":
      return startWorkerd(id)
    case "T2-dev":
    case "T3-dev":
      return startDev(id)
    case "T3-ref":
      if (reference === undefined) throw new Error("T3-ref needs --reference path/to/worker.js")
      return startWorkerd(id, reference)
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
    compatibilityDate: COMPATIBILITY_DATE
  }
}
