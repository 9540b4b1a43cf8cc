#!/usr/bin/env node
// The suites, run again and again on a loaded machine, as a newcomer runs them: `npm run dev` serving and a
// client looping against it the whole time. Usage:
//   npm run test:stress                          npm test 20 times
//   npm run test:stress -- e2e=5 conformance=5   each named suite that many times (test, e2e, conformance, soak)
// Each run's output goes to test-results/stress/; the summary to test-results/stress/summary.md and stdout.
// A run that fails or goes past its suite's bound (test/support/bounded.mjs, exit 124: hung) is counted as such;
// the exit code is 1 if any run was not green.
import { spawn } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"

const SCRIPTS = {
  test: ["npm", ["test"], {}],
  e2e: ["npm", ["run", "test:e2e"], {}],
  conformance: ["npm", ["run", "test:conformance"], {}],
  soak: ["npm", ["run", "test:soak"], { SOAK_PROFILE: "short" }]
}

const plan = (process.argv.length > 2 ? process.argv.slice(2) : ["test=20"]).map((arg) => {
  const [suite, runs = "1"] = arg.split("=")
  if (!(suite in SCRIPTS) || !(Number(runs) > 0)) {
    console.error(`unknown argument ${arg}; use SUITE=RUNS with SUITE one of ${Object.keys(SCRIPTS).join(", ")}`)
    process.exit(2)
  }
  return { suite, runs: Number(runs) }
})

mkdirSync("test-results/stress", { recursive: true })

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/** Starts a command in a process group of its own, its output to `log`, and returns how to stop the group. */
const start = (command, args, env = {}) => {
  const child = spawn(command, args, { detached: true, stdio: "ignore", env: { ...process.env, ...env } })
  return {
    child,
    stop: () => {
      try {
        process.kill(-child.pid, "SIGTERM")
      } catch {
        // Ended already.
      }
    }
  }
}

/** The dev server and the client, once started. */
let dev
let client
const stopAll = () => {
  client?.stop()
  dev?.stop()
}
process.on("SIGINT", () => {
  stopAll()
  process.exit(130)
})

const port = await freePort()
const origin = `http://127.0.0.1:${port}`
dev = start("npm", ["run", "dev", "--", "--port", String(port)])

/** Polls `GET /health` until it answers `ok`, for at most 90 s. */
const ready = async () => {
  const deadline = Date.now() + 90_000
  while (Date.now() < deadline) {
    const ok = await fetch(`${origin}/health`).then(
      (response) => response.text(),
      () => ""
    )
    if (ok.includes('"ok"')) return
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`npm run dev did not answer GET ${origin}/health within 90 s`)
}

await ready().catch((error) => {
  dev.stop()
  console.error(error.message)
  process.exit(1)
})

// The client: one socket after another, ten echoes each, checked, until stopped (at most three hours).
client = start(process.execPath, [
  "--input-type=module",
  "-e",
  `
import WebSocket from "ws"
import { writeFileSync } from "node:fs"
const stats = { sockets: 0, echoes: 0, errors: 0 }
const report = () => writeFileSync("test-results/stress/client.json", JSON.stringify(stats))
const until = Date.now() + 3 * 3600_000
process.on("SIGTERM", () => { report(); process.exit(0) })
const once = () => new Promise((resolve) => {
  const ws = new WebSocket("ws://127.0.0.1:${port}/echo")
  let n = 0
  let failed = false
  const fail = () => { if (failed) return; failed = true; stats.errors++; ws.terminate(); resolve() }
  const timer = setTimeout(fail, 10_000)
  ws.on("open", () => ws.send("m0"))
  ws.on("message", (data) => {
    if (String(data) !== "echo: m" + n) return fail()
    stats.echoes++
    if (++n < 10) ws.send("m" + n)
    else ws.close(1000)
  })
  ws.on("close", () => { clearTimeout(timer); stats.sockets++; resolve() })
  ws.on("error", fail)
})
while (Date.now() < until) { await once(); if (stats.sockets % 50 === 0) report() }
report()
`
])

const summaryLine = (output) =>
  output
    .split("\n")
    .filter((line) => /^\s*(Test Files|Tests)\s/.test(line))
    .map((line) => line.trim())
    .join("; ")

const run = (suite, i) =>
  new Promise((resolve) => {
    const [command, args, env] = SCRIPTS[suite]
    const began = Date.now()
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    child.on("close", (code) => {
      writeFileSync(`test-results/stress/${suite}-${i}.log`, output)
      resolve({ code, seconds: (Date.now() - began) / 1000, summary: summaryLine(output) })
    })
  })

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

const lines = [
  `Stress run of ${new Date().toISOString().slice(0, 16)}Z: \`npm run dev\` serving on ${origin} and a client looping against it.`,
  ""
]
let green = true
for (const { suite, runs } of plan) {
  const results = []
  for (let i = 1; i <= runs; i++) {
    const result = await run(suite, i)
    results.push(result)
    const verdict = result.code === 0 ? "passed" : result.code === 124 ? "HUNG" : "FAILED"
    console.log(`${suite} ${i}/${runs}: ${verdict} in ${result.seconds.toFixed(0)} s. ${result.summary}`)
  }
  const passed = results.filter((result) => result.code === 0).length
  const hung = results.filter((result) => result.code === 124).length
  const seconds = results.map((result) => result.seconds)
  green &&= passed === runs
  lines.push(
    `- ${SCRIPTS[suite][1].join(" ")}: ${runs} runs, ${passed} passed, ${runs - passed - hung} failed, ${hung} hung;` +
      ` median ${median(seconds).toFixed(0)} s (${Math.min(...seconds).toFixed(0)}–${Math.max(...seconds).toFixed(0)} s)`
  )
}
stopAll()
await new Promise((resolve) => client.child.on("exit", resolve))
const stats = JSON.parse(readFileSync("test-results/stress/client.json", "utf8"))
lines.push(`- the client meanwhile: ${stats.sockets} sockets, ${stats.echoes} echoes, ${stats.errors} errors`)
green &&= stats.errors === 0
writeFileSync("test-results/stress/summary.md", `${lines.join("\n")}\n`)
console.log(`\n${lines.join("\n")}`)
process.exit(green ? 0 : 1)
