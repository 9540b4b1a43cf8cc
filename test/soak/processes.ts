import { readdirSync, readFileSync } from "node:fs"

const read = (path: string) => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

const pids = () =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)

/** The process whose command line runs `wrangler dev` on `port`. */
export const wranglerPid = (port: number): number => {
  for (const pid of pids()) {
    const argv = read(`/proc/${pid}/cmdline`)?.split("\0") ?? []
    const portIndex = argv.indexOf("--port")
    if (argv.includes("dev") && portIndex >= 0 && argv[portIndex + 1] === String(port)) return pid
  }
  throw new Error(`no wrangler dev process on port ${port}`)
}

/** Resident memory (KiB) of every workerd process below `root`, found by walking /proc by parent pid. */
export const workerdRss = (root: number): ReadonlyArray<{ readonly pid: number; readonly rssKiB: number }> => {
  const children = new Map<number, Array<number>>()
  for (const pid of pids()) {
    const stat = read(`/proc/${pid}/stat`)
    if (stat === undefined) continue
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
    children.set(parent, [...(children.get(parent) ?? []), pid])
  }
  const found: Array<{ pid: number; rssKiB: number }> = []
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      const status = read(`/proc/${child}/status`) ?? ""
      const rss = /VmRSS:\s+(\d+)/.exec(status)?.[1]
      if (/^Name:\s+workerd$/m.test(status) && rss !== undefined) found.push({ pid: child, rssKiB: Number(rss) })
      walk(child)
    }
  }
  walk(root)
  return found
}

/** Total resident memory of the workerd processes of a `wrangler dev`, in MiB. */
export const totalRssMiB = (root: number) => workerdRss(root).reduce((sum, { rssKiB }) => sum + rssKiB, 0) / 1024

/** Resident memory of one process, in MiB. */
export const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${pid}/status`) ?? "")?.[1] ?? 0) / 1024
