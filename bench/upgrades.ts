// Many WebSocket upgrades: open sockets in batches (one echo verified on each), hold them, close them all
// cleanly. Every step is bounded by a timeout; failures are counted, never waited on forever.
import { performance } from "node:perf_hooks"
import { Connection, type Exchange, Meter } from "./client.js"

/** Opens one socket, sends one message and waits for its echo (checked byte for byte by the meter). */
export const openAndEcho = async (port: number, ex: Exchange, meter: Meter, timeoutMs: number): Promise<Connection> => {
  const connection = await Connection.open(port, ex, meter, false, timeoutMs)
  const mismatches = meter.mismatches
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.onEcho = undefined
      connection.socket.destroy()
      reject(new Error(`no echo within ${timeoutMs} ms`))
    }, timeoutMs)
    connection.onEcho = () => {
      clearTimeout(timer)
      connection.onEcho = undefined
      if (meter.mismatches === mismatches) return resolve()
      connection.socket.destroy()
      reject(new Error("echo mismatched"))
    }
    connection.send()
  })
  return connection
}

export interface Opened {
  readonly connections: Connection[]
  readonly seconds: number
  readonly failures: number
  readonly firstFailure: string | undefined
}

/** Opens `count` sockets, `batch` at a time (each batch fully settled before the next), one echo on each. */
export const openBatches = async (
  port: number,
  ex: Exchange,
  count: number,
  batch: number,
  timeoutMs = 15_000
): Promise<Opened> => {
  const meter = new Meter()
  const connections: Connection[] = []
  let failures = 0
  let firstFailure: string | undefined
  const start = performance.now()
  for (let done = 0; done < count; done += batch) {
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(batch, count - done) }, () => openAndEcho(port, ex, meter, timeoutMs))
    )
    for (const result of settled) {
      if (result.status === "fulfilled") connections.push(result.value)
      else {
        failures++
        firstFailure ??= result.reason instanceof Error ? result.reason.message : String(result.reason)
      }
    }
  }
  return { connections, seconds: (performance.now() - start) / 1000, failures, firstFailure }
}

/** Closes every socket cleanly (close frame, the server's close frame, FIN), `batch` at a time; counts unclean ones. */
export const closeBatches = async (connections: readonly Connection[], batch: number, timeoutMs = 10_000) => {
  let unclean = 0
  const start = performance.now()
  for (let done = 0; done < connections.length; done += batch) {
    const results = await Promise.all(connections.slice(done, done + batch).map((c) => c.close(timeoutMs)))
    unclean += results.filter((clean) => !clean).length
  }
  return { unclean, seconds: (performance.now() - start) / 1000 }
}

/** Rejects after `ms` with a message naming the step, and runs `onTimeout` (e.g. to drop sockets). */
export const withTimeout = <A>(promise: Promise<A>, ms: number, step: string, onTimeout?: () => void): Promise<A> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.()
      reject(new Error(`${step} did not finish within ${Math.round(ms / 1000)} s`))
    }, ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error) => {
        clearTimeout(timer)
        reject(error)
      }
    )
  })
