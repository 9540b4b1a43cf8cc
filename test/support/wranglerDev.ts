import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { MODES, type Mode } from "./modes.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
/** Our 426 body: a server that answers `GET /echo` with it is ours. */
export const NOT_WEBSOCKET =
  '{"error":"Expected WebSocket upgrade request (Upgrade: websocket)","code":"NOT_WEBSOCKET"}'

/** A `wrangler dev` of this Worker, started on a free loopback port. */
export interface WranglerDev {
  readonly port: number
  /** `http://127.0.0.1:PORT` */
  readonly origin: string
  /** Everything wrangler and the Worker printed so far. */
  readonly output: () => string
  /** Stops wrangler and its workerd processes. */
  readonly stop: () => Promise<void>
}

/** Ports this process has handed out: servers started side by side (one per mode) never get the same one. */
const handedOut = new Set<number>()

/** A port nobody listens on right now, and that this process has not handed out before. */
export const freePort = async (): Promise<number> => {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer()
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        server.close(() =>
          typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))
        )
      })
    })
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}

/**
 * Every test server this process started and has not stopped, whichever module instance started it (each vitest
 * project loads its global setup on its own). A run stops them all before it reports a failure in a teardown:
 * vitest skips the remaining projects' teardowns after the first that throws, and a detached server outlives the
 * run (test runners end their workers without an `exit` event, so no exit hook can stop it).
 */
const shared = globalThis as { [key: symbol]: Set<() => Promise<void>> | undefined }
const RUNNING = Symbol.for("websocket-echo/test-servers")
shared[RUNNING] ??= new Set()
const running = shared[RUNNING]

/** Registers a started server's stop; returns the stop, which unregisters it. */
export const tracked = (stop: () => Promise<void>): (() => Promise<void>) => {
  const once = () => {
    running.delete(once)
    return stop()
  }
  running.add(once)
  return once
}

/** Stops every test server still running in this process. */
export const stopAllServers = (): Promise<void> => Promise.all([...running].map((stop) => stop())).then(() => undefined)

/** Stops a child started with `detached: true`, and its whole process group: TERM, then KILL after 5 s. */
export const stopProcess = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve()
    const timer = setTimeout(() => process.kill(-(child.pid as number), "SIGKILL"), 5_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    process.kill(-child.pid, "SIGTERM")
  })

/**
 * Starts `wrangler dev` as a user would (offline: no metrics, no request.cf fetch) on a free port, with
 * extra `[vars]`, and resolves once the Worker there answers `GET /echo` with our own 426 body (or, with
 * `expectBody: null`, with anything at all: for a Worker that is meant to fail).
 */
export const startWranglerDev = async (
  options: {
    readonly vars?: Record<string, string>
    readonly timeoutMs?: number
    readonly expectBody?: string | null
    /** Another wrangler config than the project's (a Worker that answers `GET /echo` with the same 426). */
    readonly config?: string
    /** The mode to run the Worker in (its variables go under `vars`). */
    readonly mode?: Mode
  } = {}
): Promise<WranglerDev> => {
  const expected = options.expectBody === undefined ? NOT_WEBSOCKET : options.expectBody
  const port = await freePort()
  const vars = Object.entries({ ...(options.mode === undefined ? {} : MODES[options.mode]), ...options.vars }).flatMap(
    ([key, value]) => ["--var", `${key}:${value}`]
  )
  const config = options.config === undefined ? [] : ["--config", options.config]
  const child = spawn(
    `${root}node_modules/.bin/wrangler`,
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(await freePort()),
      ...config,
      ...vars
    ],
    {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" }
    }
  )
  let output = ""
  child.stdout?.on("data", (chunk) => (output += chunk))
  child.stderr?.on("data", (chunk) => (output += chunk))
  const origin = `http://127.0.0.1:${port}`
  const dev: WranglerDev = { port, origin, output: () => output, stop: tracked(() => stopProcess(child)) }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break
    const body = await fetch(`${origin}/echo`).then(
      (response) => response.text(),
      () => undefined
    )
    if (body !== undefined && (expected === null || body === expected)) return dev
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  await dev.stop()
  throw new Error(`wrangler dev did not serve the echo on ${origin}:\n${output}`)
}
