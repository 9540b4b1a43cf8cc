import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort, NOT_WEBSOCKET } from "../support/wranglerDev.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

/** The deployable bundle served by plain `workerd serve`: no dev proxy, no dev middleware in front of it. */
export interface WorkerdServe {
  readonly port: number
  readonly pid: number
  readonly output: () => string
  readonly stop: () => Promise<void>
}

const run = (command: string, args: ReadonlyArray<string>) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: "ignore",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" }
    })
    child.once("error", reject)
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))))
  })

const capnpString = (text: string) => JSON.stringify(text)

/**
 * Bundles the Worker as `wrangler deploy --dry-run` does, and serves it with the workerd binary that
 * wrangler ships, with wrangler.toml's compatibility date, flags and `[vars]`.
 */
export const startWorkerdServe = async (overrides: Record<string, string> = {}): Promise<WorkerdServe> => {
  const dir = mkdtempSync(join(tmpdir(), "echo-workerd-"))
  await run(`${root}node_modules/.bin/wrangler`, ["deploy", "--dry-run", "--outdir", dir])
  const toml = readFileSync(`${root}wrangler.toml`, "utf8")
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? "2026-03-10"
  const flags = [...(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1]?.matchAll(/"([^"]+)"/g) ?? [])].map(
    (m) => m[1]
  )
  const varsSection = /^\[vars\]\s*$([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(toml)?.[1] ?? ""
  const vars = Object.entries({
    ...Object.fromEntries([...varsSection.matchAll(/^([A-Z_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]])),
    ...overrides
  })
  const port = await freePort()
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .echo)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")]
);
const echo :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = ${capnpString(date)},
  compatibilityFlags = [${flags.map((flag) => capnpString(flag as string)).join(", ")}],
  bindings = [${vars.map(([name, value]) => `(name = ${capnpString(name as string)}, text = ${capnpString(value as string)})`).join(", ")}]
);
`
  )
  const child: ChildProcess = spawn(`${root}node_modules/.bin/workerd`, ["serve", "config.capnp"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (chunk) => (output += chunk))
  child.stderr?.on("data", (chunk) => (output += chunk))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGTERM")
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline && child.exitCode === null) {
    const body = await fetch(`http://127.0.0.1:${port}/echo`).then(
      (response) => response.text(),
      () => undefined
    )
    if (body === NOT_WEBSOCKET) return { port, pid: child.pid as number, output: () => output, stop }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await stop()
  throw new Error(`workerd serve did not serve the echo:\n${output}`)
}
