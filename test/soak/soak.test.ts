import { once } from "node:events"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { afterAll, beforeAll, expect, inject, it } from "vitest"
import { closePayload, encodeFrame, Op, RawSocket, upgraded } from "../conformance/rawSocket.js"
import { eventually } from "../support/eventually.js"
import { logLines } from "../support/logLines.js"
import { MODES } from "../support/modes.js"
import { runtimeTrouble } from "../support/runtimeTrouble.js"
import { startWranglerDev, type WranglerDev } from "../support/wranglerDev.js"
import { fuzzRequests } from "./fuzz.js"
import { rssMiB, totalRssMiB, wranglerPid } from "./processes.js"
import { startWorkerdServe, type WorkerdServe } from "./workerdServe.js"

/** `SOAK_PROFILE=short` is the variant CI runs; the default is the full soak. */
const short = process.env.SOAK_PROFILE === "short"
const SIZE = short
  ? { fuzz: 2_000, warmUp: 2_000, churn: 2_000, concurrent: 300, slowMiB: 16 }
  : { fuzz: 2_000, warmUp: 20_000, churn: 20_000, concurrent: 1_000, slowMiB: 64 }
const CHURN_PARALLEL = 32
const PREFIX_BYTES = Buffer.byteLength("echo: ")

interface Row {
  readonly phase: string
  readonly cases: number
  readonly failures: number
  readonly detail: string
  readonly seconds: number
}
const rows: Array<Row> = []
const failures: Array<string> = []
let main: WranglerDev
let slowServer: WranglerDev
let plain: WorkerdServe
let fuzzServer: WorkerdServe

beforeAll(async () => {
  ;[main, plain, fuzzServer, slowServer] = await Promise.all([
    startWranglerDev({ mode: inject("mode") }),
    // Fuzz and churn go to the deployable bundle on plain workerd: wrangler dev 4.72 itself exits under
    // the fuzz, and its inspector keeps what the runtime reports, which hides our memory (docs/robustness.md).
    startWorkerdServe(MODES[inject("mode")]),
    // The fuzz's own, with Durable Object storage on disk: its pushes and timed closes are alarms in a room, and
    // workerd aborts when an alarm comes due on in-memory storage (support/workerdServe.ts). The fuzz makes a few
    // hundred objects at most; the churn's thousands would exhaust the file descriptors on disk.
    startWorkerdServe(MODES[inject("mode")], "disk"),
    // Its own server, so a slow reader is closed by a short idle timeout without touching the others.
    startWranglerDev({ mode: inject("mode"), vars: { IDLE_TIMEOUT_SECONDS: "2" } })
  ] as const)
}, 120_000)

afterAll(async () => {
  mkdirSync("test-results", { recursive: true })
  if (main) writeFileSync("test-results/soak-main.log", main.output())
  if (slowServer) writeFileSync("test-results/soak-slow.log", slowServer.output())
  if (plain) writeFileSync("test-results/soak-plain.log", plain.output())
  if (fuzzServer) writeFileSync("test-results/soak-fuzz.log", fuzzServer.output())
  await Promise.all([main?.stop(), slowServer?.stop(), plain?.stop(), fuzzServer?.stop()])
})

const count = (server: { readonly output: () => string }, pattern: RegExp) =>
  server.output().match(pattern)?.length ?? 0
/** Log lines that would mean our code threw or failed (the runtime's own report of dropped peers left out). */
const runtimeErrors = (server: WranglerDev) => runtimeTrouble(server.output())

const within = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> =>
  Promise.race([
    promise,
    new Promise<A>((_, reject) => setTimeout(() => reject(new Error(`no ${what} in ${ms} ms`)), ms))
  ])

/** Runs `task` for 0..count-1 with `parallel` workers. */
const pool = async (count: number, parallel: number, task: (i: number) => Promise<void>) => {
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await task(next++)
    })
  )
}

const phase = async (name: string, cases: number, run: () => Promise<{ failures: number; detail: string }>) => {
  const started = performance.now()
  const result = await run()
  rows.push({ phase: name, cases, ...result, seconds: (performance.now() - started) / 1000 })
  return result
}

let upgrades = 0

/** One echo round trip on a fresh socket; `close` ends it cleanly, otherwise with a TCP reset. */
const echoOnce = async (port: number, text: string, close: boolean) => {
  const socket = await upgraded(port)
  upgrades++
  try {
    socket.send(Op.Text, text)
    const echoed = await socket.nextMessage()
    if (echoed.payload.toString() !== `echo: ${text}`) throw new Error(`wrong echo for ${text}`)
    if (!close) return socket.reset()
    socket.send(Op.Close, closePayload(1000))
    const ending = await socket.ending()
    if (ending.close?.code !== 1000) throw new Error(`close answered with ${ending.close?.code}`)
  } finally {
    socket.destroy()
  }
}

it("survives request fuzz, connection churn, many concurrent sockets and a slow reader", {
  timeout: 900_000
}, async () => {
  const started = performance.now()

  // 1. Request fuzz: odd and malformed HTTP, straight onto TCP.
  const statuses = new Map<string, number>()
  const rpcStatuses = new Map<string, number>()
  const fuzz = await phase("request fuzz", SIZE.fuzz, async () => {
    let bad = 0
    const runtime5xx = new Map<string, number>()
    const requests = fuzzRequests(SIZE.fuzz, `127.0.0.1:${fuzzServer.port}`)
    let fuzz101 = 0
    let watchers = 0
    let exitedAt: number | undefined
    await pool(requests.length, 8, async (i) => {
      if (exitedAt !== undefined) return
      const request = requests[i] as (typeof requests)[number]
      const socket = await RawSocket.open(fuzzServer.port).catch(() => undefined)
      if (socket === undefined) {
        exitedAt ??= i
        return
      }
      socket.write(request.bytes)
      let status: string
      try {
        const head = await within(socket.readHead(), 10_000, "response")
        status = String(head.status)
        if (head.status === 101) {
          // A tap's watcher is a socket of the tap's object, not a connection of the echo: it has no log line.
          if (request.target.startsWith("/tap/")) watchers++
          else fuzz101++
          socket.send(Op.Close, closePayload(1000))
          // Our close is mirrored, unless the request's body, read as frames, failed the socket first (1002),
          // or the query asked the server to close first.
          const ending = await socket.ending(5_000)
          const code = ending.close?.code
          const answered =
            request.bodyBytes === 0 ? code === 1000 || code === request.requestedClose : ending.close !== undefined
          if (!answered) {
            bad++
            failures.push(`fuzz #${i}: a 101 whose close was answered with ${ending.close?.code ?? "nothing"}`)
          }
        }
        if (head.status >= 500) {
          const body = await within(socket.readBody(head), 5_000, "body").catch(() => "")
          if (body.includes("INTERNAL_ERROR")) {
            bad++
            failures.push(
              `fuzz #${i}: our 500 for ${JSON.stringify(request.bytes.subarray(0, 200).toString("latin1"))}`
            )
          } else runtime5xx.set(String(head.status), (runtime5xx.get(String(head.status)) ?? 0) + 1)
        }
      } catch (error) {
        status = String(error).includes("no response") ? "timeout" : "closed without response"
        if (status === "timeout") {
          bad++
          failures.push(`fuzz #${i}: no response in 10 s`)
        }
      } finally {
        socket.destroy()
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
      if (request.target.startsWith("/rpc")) rpcStatuses.set(status, (rpcStatuses.get(status) ?? 0) + 1)
    })
    if (exitedAt !== undefined) {
      bad++
      failures.push(`fuzz: workerd stopped accepting connections at request #${exitedAt}`)
    }
    const spread = (counts: Map<string, number>) =>
      [...counts.entries()]
        .sort()
        .map(([status, n]) => `${status}×${n}`)
        .join(", ")
    // Every socket a client saw upgraded ends with one line, whatever its query asked for. In a room, a request
    // whose 101 the runtime refused (an empty or missing Sec-WebSocket-Key or -Version: it answers 400 itself)
    // leaves a line too, for a socket no client saw, whose peer code is 1006; only such lines may be extra.
    const fuzzEnded = () => count(fuzzServer, /"message":"connection ended"/g)
    const fuzzDropped = () => count(fuzzServer, /"message":"connection ended".*"peerCloseCode":1006\b/g)
    const balanced = () => fuzzEnded() >= fuzz101 && fuzzEnded() - fuzz101 <= fuzzDropped()
    if (!(await eventually(balanced, 10_000))) {
      bad++
      failures.push(
        `fuzz: ${fuzz101} sockets upgraded, ${fuzzEnded()} \`connection ended\` lines (${fuzzDropped()} 1006)`
      )
    }
    const log = fuzzServer.output()
    const refused101 =
      log.match(/Worker tried to return a WebSocket in a response to a request which did not contain/g)?.length ?? 0
    const badUrl = log.match(/invalid URL/g)?.length ?? 0
    const badLength = log.match(/invalid Content-Length header value/g)?.length ?? 0
    const runtimeSpread = [...runtime5xx.entries()].map(([status, n]) => `${status}×${n}`).join(", ")
    return {
      failures: bad,
      detail: `${spread(statuses)} (of them at /rpc…: ${spread(rpcStatuses)}; ${fuzz101} upgraded sockets and ${watchers} tap watchers, ${fuzzEnded()} \`connection ended\` lines, ${fuzzDropped()} of them with peer code 1006). 5xx written by workerd, not by the Worker: ${runtimeSpread} (501: unknown method; 500: request target not a path ${badUrl}, bad Content-Length ${badLength}, a 101 refused because Upgrade was not exactly \`websocket\` ${refused101})`
    }
  })
  const plainAlive = await echoOnce(fuzzServer.port, "after fuzz", true).then(
    () => true,
    () => false
  )

  // 2. Churn: connect → message → close, alternately clean and reset. Warm up first, then measure memory.
  // workerd's memory grows over the first connections and then, with this Worker, levels off (measured:
  // 212 → 252 MiB over the first 20,000, 261 MiB after 20,000 more), so the baseline is taken after that.
  const endedLines = () => count(plain, /"message":"connection ended"/g)
  const resetLines = () => count(plain, /"peerCloseCode":1006,/g)
  // Only the warm-up's own sockets are awaited (the fuzz ran on a server of its own, and balanced there).
  const endedAtWarmUp = endedLines()
  const upgradesAtWarmUp = upgrades
  await pool(SIZE.warmUp, CHURN_PARALLEL, (i) => echoOnce(plain.port, `warm ${i}`, i % 2 === 0))
  await eventually(() => endedLines() - endedAtWarmUp === upgrades - upgradesAtWarmUp, 30_000)
  const rssBefore = rssMiB(plain.pid)
  const upgradesBefore = upgrades
  const endedBefore = endedLines()
  const resetsBefore = resetLines()
  let resets = 0
  const churn = await phase("churn (clean close / TCP reset)", SIZE.churn, async () => {
    let bad = 0
    await pool(SIZE.churn, CHURN_PARALLEL, async (i) => {
      const clean = i % 2 === 0
      if (!clean) resets++
      await echoOnce(plain.port, `churn ${i}`, clean).catch((error) => {
        bad++
        if (failures.length < 50) failures.push(`churn #${i}: ${error}`)
      })
    })
    const balanced = await eventually(() => endedLines() - endedBefore === upgrades - upgradesBefore, 60_000)
    const openedCount = upgrades - upgradesBefore
    const endedCount = endedLines() - endedBefore
    if (!balanced) failures.push(`churn: ${openedCount} upgraded, ${endedCount} ended`)
    return {
      failures: bad + (balanced ? 0 : 1),
      detail: `${openedCount} upgraded (101), ${endedCount} \`connection ended\` lines; ${resetLines() - resetsBefore} of them with peer code 1006 for ${resets} TCP resets`
    }
  })
  // Memory settles once the runtime has dropped the closed sockets.
  let rssAfter = rssMiB(plain.pid)
  await eventually(
    () => {
      rssAfter = rssMiB(plain.pid)
      return rssAfter <= rssBefore * 1.1
    },
    short ? 1_000 : 30_000
  )

  // 3. Concurrency: N sockets open at once, each echoing, then all closed.
  const concurrent = await phase("concurrent sockets", SIZE.concurrent, async () => {
    const sockets: Array<RawSocket> = []
    await pool(SIZE.concurrent, 50, async () => {
      sockets.push(await upgraded(main.port))
    })
    let bad = 0
    await Promise.all(
      sockets.map(async (socket, i) => {
        socket.send(Op.Text, `open ${i}`)
        const echoed = await socket.nextMessage().catch(() => undefined)
        if (echoed?.payload.toString() !== `echo: open ${i}`) bad++
      })
    )
    const endings = await Promise.all(
      sockets.map((socket) => {
        socket.send(Op.Close, closePayload(1000))
        return socket.ending()
      })
    )
    bad += endings.filter((ending) => ending.close?.code !== 1000 || !ending.tcpClosed).length
    for (const socket of sockets) socket.destroy()
    return { failures: bad, detail: `${sockets.length} open at once, each echoed, all closed with 1000` }
  })

  // 4. Slow reader: stops reading while the server echoes megabytes; others must not notice.
  const slowPid = wranglerPid(slowServer.port)
  let slowPeak = 0
  const slowBefore = totalRssMiB(slowPid)
  const slow = await phase("slow reader", 1, async () => {
    const problems: Array<string> = []
    const reader = await upgraded(slowServer.port)
    reader.socket.pause()
    const others = await Promise.all(Array.from({ length: 10 }, () => upgraded(slowServer.port)))
    const mib = Buffer.alloc(1 << 20, 0x5a)
    let othersEchoed = 0
    let sent = 0
    let stalledAt: number | undefined
    for (; sent < SIZE.slowMiB; sent++) {
      if (!reader.socket.write(encodeFrame(Op.Binary, mib))) {
        // TCP backpressure: the server stopped reading from this client. That is the runtime protecting itself.
        const drained = await within(once(reader.socket, "drain"), 5_000, "drain").then(
          () => true,
          () => false
        )
        if (!drained) {
          stalledAt = sent + 1
          break
        }
      }
      if (sent % 4 === 0) {
        await Promise.all(
          others.map(async (other, j) => {
            other.send(Op.Text, `other ${j} ${sent}`)
            const echoed = await other.nextMessage().catch(() => undefined)
            if (echoed?.payload.toString() === `echo: other ${j} ${sent}`) othersEchoed++
            else problems.push(`other ${j} got no echo while the reader was stalled`)
          })
        )
      }
      slowPeak = Math.max(slowPeak, totalRssMiB(slowPid))
    }
    for (const other of others) other.send(Op.Close, closePayload(1000))
    const otherEndings = await Promise.all(others.map((other) => other.ending()))
    if (otherEndings.some((ending) => ending.close?.code !== 1000))
      problems.push("another socket was not closed cleanly")
    // The server ends the stalled socket by itself while nobody reads it, and logs it.
    const slowEnded = () =>
      logLines(slowServer.output(), "connection ended").find(
        (line) => (line.annotations.bytesIn as number) >= mib.length
      )
    const closedByServer = await eventually(() => slowEnded() !== undefined, 60_000)
    if (!closedByServer) problems.push("the stalled socket was not closed by the server within 60 s")
    const line = slowEnded()?.annotations
    reader.socket.resume()
    const ending = await reader.ending(30_000)
    const echoes = ending.before.filter((frame) => frame.payload.length === PREFIX_BYTES + mib.length).length
    reader.destroy()
    failures.push(...problems)
    return {
      failures: problems.length,
      detail: `${sent} MiB sent unread${stalledAt === undefined ? "" : ` (then the server stopped reading: TCP backpressure at MiB ${stalledAt})`}; 10 other sockets echoed ${othersEchoed} times meanwhile; the server ended it by itself after ${line?.messagesIn} messages (peer code ${line?.peerCloseCode}, ours ${line?.closeCode}); reading again, the client got ${echoes} echoes and close ${ending.close?.code ?? "none"}`
    }
  })
  const slowAfter = totalRssMiB(slowPid)
  await echoOnce(main.port, "after everything", true)

  // workerd logs its own refusals of malformed HTTP as "Uncaught exception: kj/…"; on the fuzz server
  // only errors that come from our code count.
  const ours = /echo failed|unexpected defect|Cannot perform I\/O/
  const fuzzErrors = [plain, fuzzServer]
    .flatMap((server) => server.output().split("\n"))
    .filter((line) => ours.test(line))
  const errors = [...runtimeErrors(main), ...runtimeErrors(slowServer), ...fuzzErrors]
  const duration = (performance.now() - started) / 1000
  const summary = [
    `Soak (${short ? "short" : "full"} profile), ${new Date().toISOString().slice(0, 16)}Z, plain workerd and wrangler dev on loopback, ${duration.toFixed(0)} s`,
    "",
    "| phase | cases | failures | seconds | detail |",
    "| --- | ---: | ---: | ---: | --- |",
    ...rows.map(
      (row) => `| ${row.phase} | ${row.cases} | ${row.failures} | ${row.seconds.toFixed(1)} | ${row.detail} |`
    ),
    "",
    `Fuzz server still echoes afterwards: ${plainAlive ? "yes" : "no"}.`,
    "",
    "| measure | value |",
    "| --- | --- |",
    `| plain workerd RSS before churn (after ${SIZE.warmUp} warm-up cycles) | ${rssBefore.toFixed(1)} MiB |`,
    `| plain workerd RSS after churn | ${rssAfter.toFixed(1)} MiB (${(((rssAfter - rssBefore) / rssBefore) * 100).toFixed(1)} %) |`,
    `| workerd RSS, slow-reader server: before / peak / after | ${slowBefore.toFixed(1)} / ${slowPeak.toFixed(1)} / ${slowAfter.toFixed(1)} MiB |`,
    `| runtime log lines that are errors of ours (uncaught, defects, cross-request I/O) | ${errors.length} |`
  ].join("\n")
  console.log(`\n${summary}\n`)
  mkdirSync("test-results", { recursive: true })
  writeFileSync("test-results/soak-summary.md", `${summary}\n`)
  if (!short) {
    const docs = readFileSync("docs/robustness.md", "utf8")
    const marked = /<!-- soak:begin -->[\s\S]*<!-- soak:end -->/
    writeFileSync("docs/robustness.md", docs.replace(marked, `<!-- soak:begin -->\n${summary}\n<!-- soak:end -->`))
  }

  expect(plainAlive).toBe(true)
  expect(failures).toEqual([])
  expect(errors).toEqual([])
  expect(fuzz.failures + churn.failures + concurrent.failures + slow.failures).toBe(0)
  // The short profile's churn is too short to be past workerd's warm-up growth: it reports, the full one asserts.
  if (!short) expect(rssAfter).toBeLessThanOrEqual(rssBefore * 1.1)
})
