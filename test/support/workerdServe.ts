// Serves an already built bundle on raw `workerd serve`: writes config.capnp next to the bundle, starts
// workerd, waits until it answers, stops it. Builds nothing: the callers bundle with `wrangler deploy --dry-run`.
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { freePort, NOT_WEBSOCKET, stopProcess, tracked } from "./wranglerDev.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

/** The workerd binary that wrangler installs. */
export const WORKERD = `${root}node_modules/.bin/workerd`

/** What a wrangler.toml says about the runtime: date, flags, text `[vars]`, Durable Object bindings. */
export interface WranglerSettings {
  readonly compatibilityDate: string
  readonly compatibilityFlags: ReadonlyArray<string>
  readonly vars: Readonly<Record<string, string>>
  readonly durableObjects: ReadonlyArray<DurableObjectClass>
}

/** Reads the compatibility date, flags and `[vars]` (string values) of a wrangler.toml (the project's by default). */
export const readWranglerToml = (path = `${root}wrangler.toml`): WranglerSettings => {
  const toml = readFileSync(path, "utf8")
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1]
  if (compatibilityDate === undefined) throw new Error(`${path} has no compatibility_date`)
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? ""
  const section = /^\[vars\]\s*$([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(toml)?.[1] ?? ""
  return {
    compatibilityDate,
    compatibilityFlags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string),
    vars: Object.fromEntries([...section.matchAll(/^(\w+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]])),
    durableObjects: [
      ...toml.matchAll(/^\[\[durable_objects\.bindings\]\]\s*name\s*=\s*"([^"]+)"\s*class_name\s*=\s*"([^"]+)"/gm)
    ].map((m) => ({ binding: m[1] as string, className: m[2] as string }))
  }
}

/** A Durable Object class exported by the bundle, its namespace and the binding the Worker reaches it by. */
export interface DurableObjectClass {
  readonly className: string
  readonly binding: string
  /** Default: `<className>-bench`. */
  readonly uniqueKey?: string
  /** SQLite-backed (`new_sqlite_classes`). Default true. */
  readonly enableSql?: boolean
}

export interface WorkerdOptions {
  /** The directory that holds the bundle; config.capnp is written there. */
  readonly dir: string
  /**
   * The executable. Default `WORKERD`, the npm package's launcher: a Node script that starts the native binary
   * (≈ 60 ms before workerd itself starts); a cold start is timed on the native binary instead.
   */
  readonly binary?: string
  /** The entry module in `dir`. Default `worker.js`. */
  readonly main?: string
  /** Default: a free loopback port. */
  readonly port?: number
  /** The wrangler.toml that date, flags and vars are read from. Default: the project's. */
  readonly wranglerToml?: string
  readonly compatibilityDate?: string
  readonly compatibilityFlags?: ReadonlyArray<string>
  /** Replaces the toml's `[vars]` as text bindings. */
  readonly vars?: Readonly<Record<string, string>>
  /** Merged over the vars. */
  readonly overrides?: Readonly<Record<string, string>>
  /** Default: the toml's `[[durable_objects.bindings]]`. */
  readonly durableObjects?: ReadonlyArray<DurableObjectClass>
  /**
   * Where Durable Objects keep their storage: in memory (default), or on disk in a fresh temp dir. In memory,
   * workerd 2026-03-10 aborts ("Promise callback destroyed itself") when an alarm fires on an object that holds
   * hibernatable sockets (measured), so a run that lets an alarm come due needs the disk; on disk, every object
   * is a SQLite file, and 10,000 objects (one per socket) exhaust the file descriptors (measured: 500s).
   */
  readonly storage?: "memory" | "disk"
  readonly inspectorPort?: number
  /** Raise workerd's soft file-descriptor limit to this (or the hard limit, if lower) through `sh -c 'ulimit -n N; exec ...'`. */
  readonly fdLimit?: number
  /** `--verbose`: workerd logs uncaught exceptions. */
  readonly verbose?: boolean
  /** Resolves true once the server is the one we want. Default: `GET /echo` answers our 426 body. */
  readonly ready?: (port: number) => Promise<boolean>
  /** How often `ready` is asked. Default 100 ms. */
  readonly pollMs?: number
  readonly timeoutMs?: number
}

export interface WorkerdServe {
  readonly port: number
  /** workerd's pid (the shell that raised the limit exec'd it). */
  readonly pid: number
  /** From spawn to the first answer `ready` accepted, in ms. */
  readonly readyMs: number
  /** Everything workerd printed so far. */
  readonly output: () => string
  readonly stop: () => Promise<void>
}

const text = (value: string) => JSON.stringify(value)

/** The capnp config for one Worker serving `main` on `port`. */
export const capnpConfig = (options: {
  readonly main: string
  readonly port: number
  readonly compatibilityDate: string
  readonly compatibilityFlags: ReadonlyArray<string>
  readonly vars: Readonly<Record<string, string>>
  readonly durableObjects: ReadonlyArray<DurableObjectClass>
  /** A directory for Durable Object storage, or undefined for in-memory storage. */
  readonly storageDir?: string | undefined
}): string => {
  const dos = options.durableObjects
  const bindings = [
    ...Object.entries(options.vars).map(([name, value]) => `(name = ${text(name)}, text = ${text(value)})`),
    ...dos.map((d) => `(name = ${text(d.binding)}, durableObjectNamespace = ${text(d.className)})`)
  ]
  const services = [`(name = "main", worker = .worker)`]
  if (dos.length > 0 && options.storageDir !== undefined) {
    services.push(`(name = "do-storage", disk = (path = ${text(options.storageDir)}, writable = true))`)
  }
  const doLines =
    dos.length === 0
      ? ""
      : `  durableObjectNamespaces = [${dos
          .map(
            (d) =>
              `(className = ${text(d.className)}, uniqueKey = ${text(d.uniqueKey ?? `${d.className}-bench`)}, enableSql = ${d.enableSql ?? true})`
          )
          .join(", ")}],
  durableObjectStorage = ${options.storageDir === undefined ? "(inMemory = void)" : `(localDisk = "do-storage")`},
`
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [${services.join(", ")}],
  sockets = [(name = "http", address = "127.0.0.1:${options.port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = ${text(options.main)}, esModule = embed ${text(options.main)})],
  compatibilityDate = ${text(options.compatibilityDate)},
  compatibilityFlags = [${options.compatibilityFlags.map(text).join(", ")}],
  bindings = [${bindings.join(", ")}],
${doLines});
`
}

/** Answers true once `GET /echo` returns our 426 body (every echo Worker here answers it). */
export const answersNotWebSocket = (port: number): Promise<boolean> =>
  fetch(`http://127.0.0.1:${port}/echo`).then(
    async (response) => response.status === 426 && (await response.text()) === NOT_WEBSOCKET,
    () => false
  )

/** Answers true once `GET /health` returns `{"status":"ok"}`. */
export const answersHealth = (port: number): Promise<boolean> =>
  fetch(`http://127.0.0.1:${port}/health`).then(
    async (response) => response.status === 200 && (await response.text()) === '{"status":"ok"}',
    () => false
  )

/** Names the bundle exports (esbuild's `export { a as B }` clause and `export class B`), for feature detection. */
export const bundleExports = (file: string): ReadonlyArray<string> => {
  const code = readFileSync(file, "utf8")
  const names: string[] = []
  for (const clause of code.matchAll(/\bexport\s*\{([^}]*)\}/g)) {
    for (const part of (clause[1] as string).split(",")) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop()
      if (name) names.push(name)
    }
  }
  for (const m of code.matchAll(/\bexport\s+(?:default\s+)?(?:class|function|const|let|var)\s+([\w$]+)/g))
    names.push(m[1] as string)
  return names
}

/**
 * Writes config.capnp into `options.dir` and starts `workerd serve` there, in its own process group; resolves
 * once `ready` accepts an answer. The date, flags and `[vars]` come from the wrangler.toml unless given.
 */
export const startWorkerd = async (options: WorkerdOptions): Promise<WorkerdServe> => {
  const toml = readWranglerToml(options.wranglerToml)
  const port = options.port ?? (await freePort())
  const durableObjects = options.durableObjects ?? toml.durableObjects
  const storageDir =
    options.storage === "disk" && durableObjects.length > 0 ? mkdtempSync(join(tmpdir(), "echo-do-")) : undefined
  writeFileSync(
    join(options.dir, "config.capnp"),
    capnpConfig({
      main: options.main ?? "worker.js",
      port,
      compatibilityDate: options.compatibilityDate ?? toml.compatibilityDate,
      compatibilityFlags: options.compatibilityFlags ?? toml.compatibilityFlags,
      vars: { ...(options.vars ?? toml.vars), ...options.overrides },
      durableObjects,
      storageDir
    })
  )
  const args = ["serve", "config.capnp"]
  if (options.verbose) args.push("--verbose")
  if (options.inspectorPort !== undefined) args.push(`--inspector-addr=127.0.0.1:${options.inspectorPort}`)
  const [command, argv] =
    options.fdLimit === undefined
      ? [options.binary ?? WORKERD, args]
      : [
          "sh",
          [
            "-c",
            `ulimit -n ${options.fdLimit} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`,
            options.binary ?? WORKERD,
            ...args
          ]
        ]
  const began = performance.now()
  const child: ChildProcess = spawn(command, argv, {
    cwd: options.dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (chunk) => (output += chunk))
  child.stderr?.on("data", (chunk) => (output += chunk))
  const stop = tracked(async () => {
    await stopProcess(child)
    if (storageDir !== undefined) rmSync(storageDir, { recursive: true, force: true })
  })
  const ready = options.ready ?? answersNotWebSocket
  const deadline = began + (options.timeoutMs ?? 30_000)
  while (performance.now() < deadline && child.exitCode === null && child.signalCode === null) {
    if (await ready(port)) {
      const readyMs = performance.now() - began
      return { port, pid: child.pid as number, readyMs, output: () => output, stop }
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100))
  }
  await stop()
  throw new Error(`workerd serve in ${options.dir} did not answer on port ${port}:\n${output}`)
}

/** The soft limit on open files of a running process (from /proc), or undefined. */
export const openFilesLimit = (pid: number): number | undefined => {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"))?.[1]
    return line === undefined ? undefined : line === "unlimited" ? Number.POSITIVE_INFINITY : Number(line)
  } catch {
    return undefined
  }
}
