// Cold starts: a fresh `workerd serve` for every measurement, polled every 2 ms from spawn on, timed to its first
// `GET /health` answer and, each on another fresh process, to its first WebSocket echo, to the first 426 of a
// plain `GET /echo` (the plain Worker and the Socket echo on `toFetchHandler`) and to the first `Echo` RPC answered
// on `/rpc` (ours and the hand-written NDJSON Worker).
import { connect } from "node:net"
import { performance } from "node:perf_hooks"
import { NOT_WEBSOCKET } from "../test/support/wranglerDev.js"
import { type Exchange, exchange, Meter, TEXT } from "./client.js"
import { echoCall } from "./rpc.js"
import { isStartupVariant, startTarget, type TargetId } from "./targets.js"
import { openAndEcho } from "./upgrades.js"

/** The workload's name in the runs (the report pairs its figures by repetition and round). */
export const COLD_START = "cold start of a fresh workerd"

/** How often a starting workerd is asked: often enough that the figure is the Worker's, not the poll's. */
export const POLL_MS = 2

const HEALTH = '{"status":"ok"}'
const ANSWER_TIMEOUT_MS = 10_000

type Answer =
  | { readonly refused: true }
  | { readonly refused: false; readonly connectedAt: number; readonly status: number; readonly body: string }

/** The body of an HTTP/1.1 response once all of it is in `data`, else undefined. */
const complete = (data: Buffer): { status: number; body: string } | undefined => {
  const split = data.indexOf("\r\n\r\n")
  if (split < 0) return undefined
  const head = data.subarray(0, split).toString("latin1")
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
  const rest = data.subarray(split + 4)
  const length = /^content-length:\s*(\d+)/im.exec(head)?.[1]
  if (length !== undefined)
    return rest.length < Number(length) ? undefined : { status, body: rest.subarray(0, Number(length)).toString() }
  if (!/^transfer-encoding:\s*chunked/im.test(head)) return undefined
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const end = rest.indexOf("\r\n", at)
    if (end < 0) return undefined
    const size = Number.parseInt(rest.subarray(at, end).toString("latin1"), 16)
    if (size === 0) return { status, body: Buffer.concat(parts).toString() }
    if (!(size > 0) || rest.length < end + 2 + size + 2) return undefined
    parts.push(rest.subarray(end + 2, end + 2 + size))
    at = end + 2 + size + 2
  }
}

/** One `GET path` on a fresh connection: refused while nothing listens, else when it connected and the answer. */
const getOnce = (port: number, path: string): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, noDelay: true })
    let connectedAt = 0
    let data = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer to GET ${path} within ${ANSWER_TIMEOUT_MS} ms`))
    }, ANSWER_TIMEOUT_MS)
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      socket.destroy()
      if (error.code === "ECONNREFUSED") resolve({ refused: true })
      else reject(error)
    })
    socket.once("connect", () => {
      connectedAt = performance.now()
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
    })
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      const answer = complete(data)
      if (answer === undefined) return
      clearTimeout(timer)
      socket.destroy()
      resolve({ refused: false, connectedAt, ...answer })
    })
    socket.once("end", () => {
      clearTimeout(timer)
      socket.destroy()
      reject(new Error(`GET ${path}: the connection ended after ${data.length} bytes of an incomplete answer`))
    })
  })

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * A readiness check for workerd's poll loop that never throws: false while the port refuses, true once it
 * answered at all. What it answered (or why it failed) is kept in `failure`.
 */
interface Probe {
  readonly ready: (port: number) => Promise<boolean>
  failure: string | undefined
}

/**
 * Asks `GET path` until it is answered; keeps when the port first accepted and when the answer came. An answer
 * other than `status` with `body` is kept as the failure.
 */
const answerProbe = (path: string, status: number, body: string) => {
  const probe = {
    failure: undefined as string | undefined,
    connectedAt: undefined as number | undefined,
    answeredAt: 0,
    ready: async (port: number) => {
      try {
        const answer = await getOnce(port, path)
        if (answer.refused) return false
        probe.connectedAt = answer.connectedAt
        probe.answeredAt = performance.now()
        if (answer.status !== status || answer.body !== body)
          probe.failure = `GET ${path} answered ${answer.status} ${answer.body.slice(0, 200)}`
      } catch (error) {
        probe.failure = messageOf(error)
      }
      return true
    }
  }
  return probe
}

const ECHO = exchange(TEXT, Buffer.from("cold"), "echo: ")
/** The consumer example (T9) serves the echo with a prefix of its own. */
const CONSUMER_ECHO = exchange(TEXT, Buffer.from("cold"), "example: ")

/** One `Echo` call over `/rpc?serialization=ndjson`, answered by its `Exit` frame (checked byte for byte). */
const RPC_ECHO = echoCall("cold", "echo: ")

/**
 * Opens a WebSocket to the exchange's path (`/echo` by default) once the port accepts, sends its one message, and
 * waits for the answer (checked).
 */
const echoProbe = (ex: Exchange): Probe => {
  const probe: Probe = {
    failure: undefined,
    ready: async (port) => {
      try {
        const connection = await openAndEcho(port, ex, new Meter(), ANSWER_TIMEOUT_MS)
        connection.socket.destroy()
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ECONNREFUSED") return false
        probe.failure = messageOf(error)
      }
      return true
    }
  }
  return probe
}

/**
 * What the cold-start workload times on a target, each on a fresh process of its own: the first `GET /health`
 * (every target that serves it: not the Socket echo T7 nor the NDJSON Worker T8), the first echo (not the start-up
 * variants, which answer only `/health`, nor T8), the first 426 of a plain `GET /echo` (T7, whose only route is
 * `/echo`, the consumer example T9, whose `/echo` is the package's `EchoRouter`, and plain T2, their baseline) and
 * the first `Echo` RPC call (ours T3 and its baseline T8).
 */
export const coldFigures = (id: TargetId) => ({
  health: id !== "T7" && id !== "T8" && id !== "T9",
  echo: !isStartupVariant(id) && id !== "T8",
  notWebSocket: id === "T2" || id === "T7" || id === "T9",
  rpc: id === "T3" || id === "T8"
})

/** Whether the cold-start workload times the first echo of a target. */
export const echoes = (id: TargetId) => coldFigures(id).echo

/** A fresh workerd of the target, polled by `ready` until it answered; its time from spawn, and the probe's failure. */
const timed = async (
  id: TargetId,
  reference: string | undefined,
  probe: Probe
): Promise<{ readyMs: number; failure: string | undefined }> => {
  const served = await startTarget(id, { reference, ready: probe.ready, pollMs: POLL_MS, coldStart: true })
  await served.stop()
  return { readyMs: served.readyMs ?? 0, failure: probe.failure }
}

/**
 * One cold start of each kind for a target (see `coldFigures`): a fresh workerd timed from spawn to its first
 * `GET /health` answer (`firstResponseMs`; `portOpenMs` is when its port first accepted), then another to its
 * first echo (`firstEchoMs`), another to the first 426 of `GET /echo` (`first426Ms`) and another to the first
 * `Echo` RPC answered (`firstRpcMs`). Each process is stopped, and its directory removed, before the next starts.
 */
export const coldStart = async (id: TargetId, reference: string | undefined): Promise<Record<string, number>> => {
  const kinds = coldFigures(id)
  const failures: string[] = []
  const figures: Record<string, number> = {}
  if (kinds.health) {
    const health = answerProbe("/health", 200, HEALTH)
    const { readyMs, failure } = await timed(id, reference, health)
    if (failure !== undefined) failures.push(failure)
    figures.firstResponseMs = readyMs
    figures.portOpenMs = readyMs - (health.answeredAt - (health.connectedAt ?? health.answeredAt))
  }
  if (kinds.echo) {
    const { readyMs, failure } = await timed(id, reference, echoProbe(id === "T9" ? CONSUMER_ECHO : ECHO))
    if (failure !== undefined) failures.push(failure)
    figures.firstEchoMs = readyMs
  }
  if (kinds.notWebSocket) {
    const refusal = answerProbe("/echo", 426, NOT_WEBSOCKET)
    const { readyMs, failure } = await timed(id, reference, refusal)
    if (failure !== undefined) failures.push(failure)
    figures.first426Ms = readyMs
    // Only where /health is not timed: the port of the process that answered the 426.
    if (!kinds.health) figures.portOpenMs = readyMs - (refusal.answeredAt - (refusal.connectedAt ?? refusal.answeredAt))
  }
  if (kinds.rpc) {
    const { readyMs, failure } = await timed(id, reference, echoProbe(RPC_ECHO))
    if (failure !== undefined) failures.push(`/rpc: ${failure}`)
    figures.firstRpcMs = readyMs
  }
  if (failures.length > 0) console.error(`${id} cold start: ${failures.join("; ")}`)
  return { ...figures, failures: failures.length, valid: failures.length === 0 ? 1 : 0 }
}
