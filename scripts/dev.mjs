#!/usr/bin/env node
// `npm run dev`: `wrangler dev`, offline and without prompts, with a banner once it is ready (where the echo is,
// the page, how to try a socket) and a plain-words note the first time the dev runtime prints one of its own
// lines that look like errors but are not the Worker's (scripts/runtimeNoise.mjs). Arguments go to wrangler.
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { RUNTIME_NOISE } from "./runtimeNoise.mjs"

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")
const READY = /Ready on (http:\/\/\S+)/

const wrangler = spawn("npx", ["wrangler", "dev", ...process.argv.slice(2)], {
  stdio: ["inherit", "pipe", "pipe"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", FORCE_COLOR: "1" }
})

const banner = (origin) => {
  const ws = origin.replace(/^http/, "ws")
  return [
    "",
    `  websocket-echo is serving ${ws}/echo`,
    `  the debug page:   ${origin}/             open it in a browser and press Connect`,
    `  a socket:         npx wscat -c ${ws}/echo   type hello, read "< echo: hello"`,
    `  over HTTP:        curl -i ${origin}/echo   the 426 and its JSON`,
    ""
  ].join("\n")
}

const explained = new Set()
const relay = (from, to) =>
  createInterface({ input: from }).on("line", (line) => {
    to.write(`${line}\n`)
    const plain = line.replace(ANSI, "").trim()
    const ready = READY.exec(plain)
    if (ready !== null) to.write(`${banner(ready[1])}\n`)
    const noise = RUNTIME_NOISE.find(({ pattern }) => pattern.test(plain))
    if (noise !== undefined && !explained.has(noise)) {
      explained.add(noise)
      to.write(`  ↳ ${noise.meaning} (said once)\n`)
    }
  })

relay(wrangler.stdout, process.stdout)
relay(wrangler.stderr, process.stderr)
for (const name of ["SIGINT", "SIGTERM"]) process.on(name, () => wrangler.kill(name))
wrangler.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 0)))
