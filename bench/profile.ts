// `npm run bench -- --profile [seconds]`: a V8 CPU profile of our Worker on workerd serve under the
// 100-connection load, taken through workerd's inspector, summarised by self time.
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import WebSocket from "ws"
import { freePort } from "../test/support/wranglerDev.js"
import { Connection, closedLoop, exchange, Meter, openMany, TEXT } from "./client.js"
import { root, WORKERD } from "./targets.js"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}
interface Profile {
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

export const profileWorker = async (seconds: number) => {
  const dir = `${root}bench/.build/profile/`
  mkdirSync(dir, { recursive: true })
  // The same build as `npm run build`, unminified so that the profile has names.
  execFileSync(`${root}node_modules/.bin/wrangler`, ["deploy", "--dry-run", "--outdir", dir, "--minify=false"], {
    cwd: root,
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" }
  })
  const port = await freePort()
  const inspector = await freePort()
  writeFileSync(
    `${dir}config.capnp`,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-03-10",
  bindings = [(name = "ECHO_PREFIX", text = "echo: "), (name = "MAX_MESSAGE_BYTES", text = "1048576")],
);
`
  )
  const child: ChildProcess = spawn(WORKERD, ["serve", "config.capnp", `--inspector-addr=127.0.0.1:${inspector}`], {
    cwd: dir,
    detached: true,
    stdio: "ignore"
  })
  try {
    const deadline = Date.now() + 15_000
    while (
      (await fetch(`http://127.0.0.1:${port}/echo`).then(
        (r) => r.status,
        () => 0
      )) !== 426
    ) {
      if (Date.now() > deadline) throw new Error("workerd did not start")
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const meter = new Meter()
    const ex = exchange(TEXT, Buffer.from("0123456789abcdefghij"), "echo: ")
    const connections = await openMany(100, 50, () => Connection.open(port, ex, meter, false))
    const { call, close } = await inspect(inspector)
    await call("Profiler.enable")
    await call("Profiler.setSamplingInterval", { interval: 100 })
    let profile: Profile | undefined
    const window = await closedLoop(connections, meter, {
      depth: 1,
      warmupMs: 500,
      measureMs: seconds * 1000,
      probe: (edge) => {
        if (edge === "start") void call("Profiler.start")
        else
          void call("Profiler.stop").then((result) => {
            profile = (result as { profile: Profile }).profile
          })
      }
    })
    while (profile === undefined) await new Promise((resolve) => setTimeout(resolve, 20))
    close()
    await Promise.all(connections.map((c) => c.close()))
    writeFileSync(`${dir}worker.cpuprofile`, JSON.stringify(profile))
    console.log(
      `${Math.round(window.received / window.seconds)} msgs/s while profiling, ${window.mismatches} mismatches`
    )
    console.log(`profile: bench/.build/profile/worker.cpuprofile (open in Chrome DevTools); self time, top 30:`)
    for (const [name, percent] of selfTimes(profile).slice(0, 30))
      console.log(`${percent.toFixed(1).padStart(6)}%  ${name}`)
  } finally {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM")
  }
}
