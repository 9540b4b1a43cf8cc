// Server-side readings from /proc: the CPU and RSS of every process of a target.
import { readdirSync, readFileSync, readlinkSync } from "node:fs"

const TICKS_PER_SECOND = 100
const PAGE_KB = 4

const stat = (pid: number): string[] | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name may hold spaces: fields start after its closing parenthesis.
    return text.slice(text.lastIndexOf(")") + 2).split(" ")
  } catch {
    return undefined
  }
}

const pids = (): number[] =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)

const comm = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim()
  } catch {
    return ""
  }
}

/** CPU seconds (user + system) used so far by these processes. */
export const cpuSeconds = (processes: readonly number[]): number =>
  processes.reduce((sum, pid) => {
    const fields = stat(pid)
    // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted from the state field (field 3).
    return fields ? sum + (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND : sum
  }, 0)

/** Resident memory in bytes of these processes, summed. */
export const rssBytes = (processes: readonly number[]): number =>
  processes.reduce((sum, pid) => {
    try {
      const pages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1])
      return sum + pages * PAGE_KB * 1024
    } catch {
      return sum
    }
  }, 0)

/** The process that listens on this loopback TCP port. */
export const listenerOf = (port: number): number | undefined => {
  const hex = port.toString(16).toUpperCase().padStart(4, "0")
  const inodes = new Set<string>()
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = ""
    try {
      text = readFileSync(table, "utf8")
    } catch {
      continue
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/)
      // local_address ends in :PORT, state 0A is LISTEN
      if (f[1]?.endsWith(`:${hex}`) && f[3] === "0A" && f[9]) inodes.add(f[9])
    }
  }
  for (const pid of pids()) {
    let fds: string[] = []
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`)
        if (link.startsWith("socket:[") && inodes.has(link.slice(8, -1))) return pid
      } catch {}
    }
  }
  return undefined
}

/** Every process named `name` in the same session as `pid` (wrangler dev's workerd processes). */
export const sessionProcesses = (pid: number, name: string): number[] => {
  const session = stat(pid)?.[3]
  if (session === undefined) return []
  return pids().filter((other) => stat(other)?.[3] === session && comm(other) === name)
}
