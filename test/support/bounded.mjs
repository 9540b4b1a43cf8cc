#!/usr/bin/env node
// Runs a test command with a wall-clock bound: `node test/support/bounded.mjs SECONDS -- COMMAND ARGS…`.
// Past the bound it says what the run was waiting for (the tests and files that had started and not finished,
// as test/support/watchdog.ts records them, and the processes still running), stops every process the command
// started, and exits 124. Interrupted (Ctrl+C, SIGTERM), it stops them too. Otherwise it exits as the command did.
import { spawn } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { resolve } from "node:path"

const [seconds, separator, command, ...args] = process.argv.slice(2)
if (!(Number(seconds) > 0) || separator !== "--" || command === undefined) {
  console.error("usage: bounded.mjs SECONDS -- COMMAND [ARGS…]")
  process.exit(2)
}

mkdirSync("test-results", { recursive: true })
const state = resolve(`test-results/running-${process.pid}.json`)
// Its own process group, so that stopping the group stops everything it started that did not leave it.
const child = spawn(command, args, {
  stdio: "inherit",
  detached: true,
  env: { ...process.env, BOUNDED_RUN_STATE: state }
})

/** Each process's parent, read from /proc: `pid → ppid`. */
const parents = () => {
  const map = new Map()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]))
    } catch {
      // It ended while we read.
    }
  }
  return map
}

/** The command's process and all its descendants, those that started process groups of their own included. */
const descendants = () => {
  const parentOf = parents()
  const found = [child.pid]
  for (let i = 0; i < found.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === found[i]) found.push(pid)
  }
  return found
}

const commandOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim().slice(0, 160)
  } catch {
    return "(ended)"
  }
}

const signal = (pids, name) => {
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, name)
      } catch {
        // Not a group leader, or gone already.
      }
    }
  }
}

/** What `stop` signalled: killed for good when the command has ended, or 5 s later. */
let stopped = []
/** Stops the command and everything it started: SIGTERM, then SIGKILL for what is left. */
const stop = () => {
  if (stopped.length > 0) return
  stopped = descendants()
  signal(stopped, "SIGTERM")
  setTimeout(() => signal(stopped, "SIGKILL"), 5_000).unref()
}

const waitingFor = () => {
  try {
    const running = Object.entries(JSON.parse(readFileSync(state, "utf8")))
    const now = Date.now()
    return running.map(([what, since]) => `  ${what} (started ${Math.round((now - since) / 1000)} s ago)`)
  } catch {
    return ["  (no test had started)"]
  }
}

let outcome
const deadline = setTimeout(() => {
  outcome = 124
  const processes = descendants().map((pid) => `  ${pid} ${commandOf(pid)}`)
  console.error(
    [
      "",
      `✘ \`${[command, ...args].join(" ")}\` was still running after ${seconds} s, its bound. It was waiting for:`,
      ...waitingFor(),
      "Processes still running, now stopped:",
      ...processes
    ].join("\n")
  )
  stop()
}, Number(seconds) * 1000)

for (const name of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(name, () => {
    outcome ??= 130
    stop()
  })
}

child.on("exit", (code, killedBy) => {
  clearTimeout(deadline)
  // What it left behind in its group (a runtime whose parent ended first) goes with it.
  signal([child.pid, ...stopped], "SIGKILL")
  rmSync(state, { force: true })
  process.exit(outcome ?? code ?? (killedBy === null ? 1 : 128))
})
