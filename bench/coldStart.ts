// Cold starts: a fresh `workerd serve` for every measurement, polled every 2 ms from spawn on, timed to its first
// `GET /health` answer and, on another fresh process, to its first WebSocket echo.
import { connect } from "node:net"
import { performance } from "node:perf_hooks"
import { exchange, Meter, TEXT } from "./client.js"
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

/** Asks `GET /health` until it is answered; keeps when the port first accepted and when the answer came. */
const healthProbe = () => {
  const probe = {
    failure: undefined as string | undefined,
    connectedAt: undefined as number | undefined,
    answeredAt: 0,
    ready: async (port: number) => {
      try {
        const answer = await getOnce(port, "/health")
        if (answer.refused) return false
        probe.connectedAt = answer.connectedAt
        probe.answeredAt = performance.now()
        if (answer.status !== 200 || answer.body !== HEALTH)
          probe.failure = `GET /health answered ${answer.status} ${answer.body.slice(0, 200)}`
      } catch (error) {
        probe.failure = messageOf(error)
      }
      return true
    }
  }
  return probe
}

const ECHO = exchange(TEXT, Buffer.from("cold"), "echo: ")

/** Opens a WebSocket to `/echo` once the port accepts, sends one message, and waits for its echo (checked). */
const echoProbe = (): Probe => {
  const probe: Probe = {
    failure: undefined,
    ready: async (port) => {
      try {
        const connection = await openAndEcho(port, ECHO, new Meter(), ANSWER_TIMEOUT_MS)
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

/** Whether the cold-start workload times the first echo of a target (the variants answer only `/health`). */
export const echoes = (id: TargetId) => !isStartupVariant(id)

/**
 * One cold start of each kind for a target: a fresh workerd timed from spawn to its first `GET /health` answer
 * (`firstResponseMs`; `portOpenMs` is when its port first accepted), then another to its first echo
 * (`firstEchoMs`). Each process is stopped, and its directory removed, before the next starts.
 */
export const coldStart = async (id: TargetId, reference: string | undefined): Promise<Record<string, number>> => {
  const failures: string[] = []
  const health = healthProbe()
  const served = await startTarget(id, { reference, ready: health.ready, pollMs: POLL_MS, coldStart: true })
  await served.stop()
  const readyMs = served.readyMs ?? 0
  if (health.failure !== undefined) failures.push(health.failure)
  const figures: Record<string, number> = {
    firstResponseMs: readyMs,
    portOpenMs: readyMs - (health.answeredAt - (health.connectedAt ?? health.answeredAt))
  }
  if (echoes(id)) {
    const echo = echoProbe()
    const served = await startTarget(id, { reference, ready: echo.ready, pollMs: POLL_MS, coldStart: true })
    await served.stop()
    if (echo.failure !== undefined) failures.push(echo.failure)
    figures.firstEchoMs = served.readyMs ?? 0
  }
  if (failures.length > 0) console.error(`${id} cold start: ${failures.join("; ")}`)
  return { ...figures, failures: failures.length, valid: failures.length === 0 ? 1 : 0 }
}
